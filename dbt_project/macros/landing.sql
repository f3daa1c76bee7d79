{#-
    Reading the landing zone. Staging models are the only callers:

        source as (
            {{ landing_source('aws_cur', 'line_items') }}
        ),

    renders one of three things:
    - the dataset has files: `select <every contract column> from <source>`,
      with typed nulls for optional columns no file carries;
    - no file yet (a source not configured, a first run): a typed empty
      relation (`... where false`) built from landing_contract(), so the
      whole build still runs and every downstream model is simply empty;
    - a dbt unit test: the fixture, padded with typed nulls for the contract
      columns it does not give (fixtures name only what a test is about).
    `contract` is landing_contract() unless given: frozen disclosure versions
    (macros/disclosures.sql) are read the same way.
    DuckDB-specific (glob(), DESCRIBE, UNION ALL BY NAME) by design: this is
    the adapter boundary of the project.
-#}
{% macro landing_source(source_name, table_name, contract=none) -%}
    {%- set relation = source(source_name, table_name) -%}
    {%- set dataset = source_name ~ '.' ~ table_name -%}
    {%- set columns = (contract or landing_contract())[dataset] -%}
    {%- if not landing_files_exist(relation) -%}
        {{ landing_typed_empty(columns) }}
    {%- elif is_unit_test() -%}
        {{ landing_typed_empty(columns) }}
        union all by name
        select * from {{ relation }}
    {%- elif not execute -%}
        select * from {{ relation }}
    {%- else -%}
        {%- set present = [] -%}
        {%- for row in run_query('describe select * from ' ~ relation) -%}
            {%- do present.append(row[0] | lower) -%}
        {%- endfor -%}
        select
        {%- for column in columns %}
            {% if column[0] | lower in present -%}
                {{ adapter.quote(column[0]) }}
            {%- elif column | length > 2 and column[2] == 'optional' -%}
                cast(null as {{ column[1] }}) as {{ adapter.quote(column[0]) }}
            {%- else -%}
                {{ exceptions.raise_compiler_error(
                    "landing dataset " ~ dataset ~ " has files but no column '" ~ column[0]
                    ~ "' (docs/data-contract.md requires it); columns found: " ~ present | join(', ')
                ) }}
            {%- endif -%}{{ ',' if not loop.last }}
        {%- endfor %}
        from {{ relation }}
    {%- endif -%}
{%- endmacro %}


{#- True when the dataset behind `relation` has at least one file. Checked when
    the model runs (glob() via run_query), not when the project is parsed, so a
    source that starts delivering is picked up by the next `dbt build`. Unit
    tests read fixtures, never files: true there (a test overrides this macro
    to exercise the empty path). -#}
{% macro landing_files_exist(relation) -%}
    {%- if not execute or is_unit_test() -%}
        {{ return(true) }}
    {%- endif -%}
    {%- set found = modules.re.search("read_[a-z_]+\\('([^']+)'", relation.external or '') -%}
    {%- if found is none -%}
        {{ exceptions.raise_compiler_error(
            "source " ~ relation ~ " has no external_location read_*('<path>') to check for files"
        ) }}
    {%- endif -%}
    {%- set path = found.group(1) -%}
    {%- set result = run_query("select count(*) from glob('" ~ path ~ "')") -%}
    {{ return(result.columns[0].values()[0] > 0) }}
{%- endmacro %}


{#- `select cast(null as <type>) as <column>, ... where false` -#}
{% macro landing_typed_empty(columns) -%}
    {{ return(adapter.dispatch('landing_typed_empty', 'ai_carbon')(columns)) }}
{%- endmacro %}
{% macro default__landing_typed_empty(columns) -%}
    select
    {%- for column in columns %}
        cast(null as {{ column[1] }}) as {{ adapter.quote(column[0]) }}{{ ',' if not loop.last }}
    {%- endfor %}
    where false
{%- endmacro %}
{#- BigQuery takes no WHERE without a FROM: the same columns, filtered outside. -#}
{% macro bigquery__landing_typed_empty(columns) -%}
    select * from (
        select
        {%- for column in columns %}
            cast(null as {{ column[1] }}) as {{ adapter.quote(column[0]) }}{{ ',' if not loop.last }}
        {%- endfor %}
    ) as typed_empty
    where false
{%- endmacro %}


{% macro is_unit_test() -%}
    {{ return(model is defined and model.resource_type == 'unit_test') }}
{%- endmacro %}
