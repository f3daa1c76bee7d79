{#- Incremental models by month downstream of the CUR model (the cloud chain
    from models/intermediate/cloud/int_cloud_energy_estimated.sql, and the
    models after it whose rows of a month read only that month: provider
    allocation, fct_emissions, ...): which months a run has to recompute,
    without reading any row of the others. A model whose month rows read
    other months (windows, run histories, cumulative figures) stays a table.

    A month's rows depend on two things, each stored beside them:
    - `month_fingerprint`: the fingerprint of the month's bills
      (billing_monthly_state): its CUR landing partition, as
      int_aws_cur_line_items_aggregated loaded it, and its GCP billing and
      FOCUS rows; a re-delivered month, the open month with a new day, a
      restated month changes it (the models after the cloud energy combine
      their inputs' months instead: chained_monthly_state, below);
    - `inputs_fingerprint`: everything else the model reads, for every month
      at once (upstream_inputs_fingerprint): the SQL of every upstream model,
      the seeds' files, the project's macros, the methodology version, and
      the files of every other landing dataset upstream (org config, ...).
      A factor, a rule or a formula that changes, or a delivery of another
      source, changes it: every month is recomputed, as a table would be.
    A run recomputes the months whose stored fingerprints differ from the
    current ones (delete+insert on the month), or every month when the inputs
    fingerprint moved; `--full-refresh` rebuilds all; the months of
    `landing_partitions_to_load` (the var that forces CUR partitions) are
    recomputed too. A month whose every row left landing is not deleted (as
    in the CUR model): `--full-refresh` removes it. Empty / none when
    compiling and in unit tests.

    A model uses it in three places, with every monthly input filtered:
        {%- set monthly = billing_monthly_state() -%}  (at the top)
        ... from {{ ref('upstream') }} {{ months_filter('month', monthly) }}
        {{ monthly_state_columns('month', monthly) }}  (two columns of the final select)
        {{ stored_in_month_order('month') }}           (after the final select)
    with config(materialized='incremental', incremental_strategy='delete+insert',
    unique_key='month', on_schema_change='append_new_columns',
    post_hook="{{ delete_rows_of_other_inputs() }}"). -#}


{#- The state of a run of the cloud energy estimate: the billing months'
    fingerprints, the other inputs' fingerprint and the months to recompute
    (none: all). A month's fingerprint is that of each bill of the month:
    the CUR partitions the CUR model stored for it (their files), the GCP
    billing rows of that usage month and the FOCUS rows of that billing
    month (the rows of the staging tables, hashed exactly: GCP lands by
    invoice month, and an invoice holds usage of the month before). -#}
{% macro billing_monthly_state() -%}
    {%- set parts = {
        'aws_cur': monthly_input_fingerprints(ref('int_aws_cur_line_items_aggregated'), 'billing_month', 'landing_fingerprint'),
    } -%}
    {%- if execute and not is_unit_test() -%}
        {%- do parts.update({
            'gcp_billing': rows_fingerprints_by_month(
                model_relation('stg_gcp__billing_line_items'), 'usage_month', exact=true),
            'focus': rows_fingerprints_by_month(
                model_relation('int_focus_cost_line_items_unioned'), 'billing_month', exact=true),
        }) -%}
    {%- endif -%}
    {{ return(monthly_state(combined_month_fingerprints(parts), billing_monthly_sources())) }}
{%- endmacro %}

{#- The landing datasets fingerprinted by month in the cloud chain (the
    bills), left out of its inputs fingerprint. -#}
{% macro billing_monthly_sources() -%}
    {{ return([
        'aws_cur.line_items', 'gcp_billing.billing_export', 'aws_focus.cost_line_items', 'focus.cost_line_items',
    ]) }}
{%- endmacro %}

{#- {month: fingerprint} from {input name: {month: fingerprint}}: for each
    month any input holds, the hash of every input's fingerprint of it ('' for
    an input without it). -#}
{% macro combined_month_fingerprints(parts) -%}
    {%- set month_fingerprints = {} -%}
    {%- for name in parts | sort -%}
        {%- for month in parts[name] -%}
            {%- do month_fingerprints.update({month: none}) -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- for month in month_fingerprints | list -%}
        {%- set month_parts = [] -%}
        {%- for name in parts | sort -%}
            {%- do month_parts.append(name ~ '=' ~ parts[name].get(month, '')) -%}
        {%- endfor -%}
        {%- do month_fingerprints.update({month: local_md5(month_parts | join(';'))}) -%}
    {%- endfor -%}
    {{ return(month_fingerprints) }}
{%- endmacro %}


{#- The state of a run of the calling model, from its months' fingerprints
    ({'2025-06-01': '<fingerprint>', ...}) and the landing datasets those
    cover ('source_name.table_name'), left out of the inputs fingerprint.
    `rows_need_monthly_input`: every row of the model comes from a month of
    its monthly inputs (the telemetry chain), so with no such month landed and
    no row stored there is nothing to recompute. -#}
{% macro monthly_state(month_fingerprints, monthly_sources, rows_need_monthly_input=false) -%}
    {%- set inputs_fingerprint = upstream_inputs_fingerprint(monthly_sources) -%}
    {{ return({
        'month_fingerprints': month_fingerprints,
        'inputs_fingerprint': inputs_fingerprint,
        'months': months_to_recompute(
            month_fingerprints, inputs_fingerprint, rows_need_monthly_input=rows_need_monthly_input,
        ) if is_incremental() else none,
    }) }}
{%- endmacro %}


{#- `where <month> in (...)` (or `and ...`) on an incremental run that recomputes some months; nothing otherwise. -#}
{% macro months_filter(month_column, monthly, keyword='where') -%}
    {%- if is_incremental() and monthly.months is not none -%}
        {{ keyword }} {{ in_months(month_column, monthly.months) }}
    {%- endif -%}
{%- endmacro %}


{#- The two stored fingerprints, as columns of the final select. -#}
{% macro monthly_state_columns(month_column, monthly) -%}
    {{ month_fingerprint_of(month_column, monthly.month_fingerprints) }} as month_fingerprint,
    '{{ monthly.inputs_fingerprint }}' as inputs_fingerprint
{%- endmacro %}


{#- {'2025-06-01': '<fingerprint>', ...} from the stored fingerprints of a
    monthly incremental input (its month column a date). -#}
{% macro monthly_input_fingerprints(relation, month_column, fingerprint_column) -%}
    {#- not built yet: only when compiling without a warehouse (the linter) -#}
    {%- if not execute or is_unit_test() or load_relation(relation) is none -%}
        {{ return({}) }}
    {%- endif -%}
    {%- set query -%}
        select
            cast({{ month_column }} as {{ dbt.type_string() }}) as month_value,
            min({{ fingerprint_column }}) as first_fingerprint,
            max({{ fingerprint_column }}) as last_fingerprint
        from {{ relation }}
        where {{ month_column }} is not null
        group by {{ month_column }}
    {%- endset -%}
    {%- set fingerprints = {} -%}
    {%- for row in run_query(query) -%}
        {%- do fingerprints.update({row[0]: (row[1] or '') ~ '|' ~ (row[2] or '')}) -%}
    {%- endfor -%}
    {{ return(fingerprints) }}
{%- endmacro %}


{#- One fingerprint of every input of the running model that is not monthly:
    upstream models' and seeds' checksums, the project's macros, the
    methodology version, and the landing files of every upstream source but
    `monthly_sources` ('source_name.table_name'), whose months are
    fingerprinted apart. The walk does not go past the models named in
    `stop_at`, whose contents the caller fingerprints itself. -#}
{% macro upstream_inputs_fingerprint(monthly_sources, stop_at=[]) -%}
    {%- if not execute or is_unit_test() -%}
        {{ return('') }}
    {%- endif -%}
    {%- set upstream = [model.unique_id] -%}
    {#- breadth-first over the graph: the loop also walks what it appends -#}
    {%- for unique_id in upstream -%}
        {%- set node = graph.nodes.get(unique_id) -%}
        {%- if node is not none and node.name not in stop_at -%}
            {%- for parent in node.depends_on.nodes -%}
                {%- if parent not in upstream -%}
                    {%- do upstream.append(parent) -%}
                {%- endif -%}
            {%- endfor -%}
        {%- endif -%}
    {%- endfor -%}
    {%- set landing = {} -%}
    {%- for unique_id in upstream if unique_id.startswith('source.') -%}
        {%- set found = graph.sources[unique_id] -%}
        {%- if (found.source_name ~ '.' ~ found.name) not in monthly_sources -%}
            {%- do landing.update({unique_id: source(found.source_name, found.name)}) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- set landing_fingerprints = landing_files_fingerprints(landing) -%}
    {%- set parts = ['methodology_version=' ~ var('methodology_version')] -%}
    {%- for unique_id in upstream | sort -%}
        {%- if unique_id in landing_fingerprints -%}
            {%- do parts.append(unique_id ~ '=' ~ landing_fingerprints[unique_id]) -%}
        {%- elif unique_id.startswith('source.') or graph.nodes[unique_id].name in stop_at -%}
        {%- elif graph.nodes[unique_id].checksum is defined -%}
            {%- do parts.append(unique_id ~ '=' ~ graph.nodes[unique_id].checksum.checksum) -%}
        {%- endif -%}
    {%- endfor -%}
    {#- the project's macros: dbt's graph holds no macro, the project's
        namespace holds each one with its text -#}
    {%- set project_macros = context[project_name] -%}
    {%- for name in project_macros | sort -%}
        {%- do parts.append('macro.' ~ project_name ~ '.' ~ name ~ '=' ~ local_md5(project_macros[name].macro.macro_sql)) -%}
    {%- endfor -%}
    {{ return(local_md5(parts | join('\n'))) }}
{%- endmacro %}


{#- {unique_id: relation} of landing datasets -> {unique_id: fingerprint}: the
    names (within the dataset's folder, so a landing folder moved or copied
    with its times is not a change), sizes and modification times of each
    dataset's files, hashed ('' when it has none); the files themselves are
    not read. Two queries for all the datasets, whatever their number. -#}
{% macro landing_files_fingerprints(relations) -%}
    {%- set paths = {} -%}
    {%- for unique_id in relations | sort -%}
        {%- set path = modules.re.search("read_[a-z_]+\\('([^']+)'", relations[unique_id].external).group(1) -%}
        {%- set folder = path.split('*')[0] -%}
        {%- do paths.update({unique_id: (path, folder[:folder.rfind('/') + 1])}) -%}
    {%- endfor -%}
    {%- set fingerprints = {} -%}
    {%- if paths | length == 0 -%}
        {{ return(fingerprints) }}
    {%- endif -%}
    {%- set listed = {} -%}
    {%- for row in run_query(landing_files_counted_sql(paths)) -%}
        {%- do fingerprints.update({row[0]: ''}) -%}
        {%- if row[1] > 0 -%}
            {%- do listed.update({row[0]: paths[row[0]]}) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if listed | length > 0 -%}
        {%- for row in run_query(landing_files_fingerprints_sql(listed)) -%}
            {%- do fingerprints.update({row[0]: row[1]}) -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(fingerprints) }}
{%- endmacro %}

{#- {unique_id: (path glob, folder)} -> rows (unique_id, number of files). -#}
{% macro landing_files_counted_sql(paths) -%}
    {%- for unique_id in paths | sort %}
    select '{{ unique_id }}' as unique_id, count(*) as files from glob('{{ paths[unique_id][0] }}')
    {{- '\n    union all' if not loop.last }}
    {%- endfor %}
{%- endmacro %}

{% macro landing_files_fingerprints_sql(paths) -%}
    {{ return(adapter.dispatch('landing_files_fingerprints_sql', 'ai_carbon')(paths)) }}
{%- endmacro %}
{#- read_blob() without its `content` column lists the files without reading them. -#}
{% macro default__landing_files_fingerprints_sql(paths) -%}
    select
        unique_id,
        md5(string_agg(file_name || ':' || cast(size as varchar) || ':' || cast(last_modified as varchar), ','
            order by file_name))
    from (
    {%- for unique_id in paths | sort %}
        select '{{ unique_id }}' as unique_id, substr(filename, {{ paths[unique_id][1] | length + 1 }}) as file_name,
            size, last_modified
        from read_blob('{{ paths[unique_id][0] }}')
        {{- '\n        union all' if not loop.last }}
    {%- endfor %}
    ) as files
    group by unique_id
{%- endmacro %}


{#- The months (as 'YYYY-MM-DD' strings) an incremental run of `this`
    recomputes, or none for every month. -#}
{% macro months_to_recompute(month_fingerprints, inputs_fingerprint, month_column='month', rows_need_monthly_input=false) -%}
    {%- set forced = [] -%}
    {%- for partition in var('landing_partitions_to_load', []) -%}
        {%- do forced.append(partition ~ '-01') -%}
    {%- endfor -%}
    {#- a unit test gives the months through the var, like a forced reload -#}
    {%- if is_unit_test() -%}
        {{ return(forced if forced else none) }}
    {%- endif -%}
    {%- if not execute -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set stored_columns = adapter.get_columns_in_relation(this) | map(attribute='name') | map('lower') | list -%}
    {%- if 'month_fingerprint' not in stored_columns or 'inputs_fingerprint' not in stored_columns -%}
        {{ log(this.identifier ~ ": no stored fingerprints: every month recomputed", info=true) }}
        {{ return(none) }}
    {%- endif -%}
    {%- set query -%}
        select distinct
            cast({{ month_column }} as {{ dbt.type_string() }}) as month_value,
            month_fingerprint,
            inputs_fingerprint
        from {{ this }}
    {%- endset -%}
    {%- set stored = {} -%}
    {%- set stored_inputs = [] -%}
    {%- for row in run_query(query) -%}
        {%- do stored.update({row[0]: row[1]}) -%}
        {%- if row[2] not in stored_inputs -%}
            {%- do stored_inputs.append(row[2]) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if rows_need_monthly_input and month_fingerprints | length == 0 and stored | length == 0 -%}
        {{ log(this.identifier ~ ": no month landed, none stored: nothing to recompute", info=true) }}
        {{ return([]) }}
    {%- endif -%}
    {%- if stored_inputs != [inputs_fingerprint] -%}
        {{ log(this.identifier ~ ": inputs changed (or none stored): every month recomputed", info=true) }}
        {{ return(none) }}
    {%- endif -%}
    {%- set changed = [] -%}
    {%- for month in month_fingerprints | sort -%}
        {%- if stored.get(month) != month_fingerprints[month] -%}
            {%- do changed.append(month) -%}
        {%- endif -%}
    {%- endfor -%}
    {#- a month whose monthly input left landing: what is left of it -#}
    {%- for month in stored | sort -%}
        {%- if stored[month] is not none and month not in month_fingerprints and month not in changed -%}
            {%- do changed.append(month) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- for month in forced -%}
        {%- if month not in changed -%}
            {%- do changed.append(month) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ log(this.identifier ~ ": months to recompute: " ~ (changed | sort | join(', ') or 'none'), info=true) }}
    {{ return(changed | sort) }}
{%- endmacro %}


{#- `(<column> = cast('2025-06-01' as date))` for one month; for several,
    `(<column> between <first> and <last> and <column> in (<each>))`; `false`
    for none. An IN list alone is not pushed down through the joins and
    inlined CTEs of the views an incremental model reads (DuckDB reads every
    month under them, 1.7 s instead of 0.5 s for a month of
    int_cloud_usage_classified at 10M line items); a comparison is, and the
    range prunes the stored tables' row groups by their min / max. -#}
{% macro in_months(column, months) -%}
    {%- if months | length == 0 -%}
        false
    {%- elif months | length == 1 -%}
        ({{ column }} = {{ month_literal(months[0]) }})
    {%- else -%}
        ({{ column }} between {{ month_literal(months | min) }} and {{ month_literal(months | max) }}
        and {{ column }} in (
            {%- for month in months -%}
                {{ month_literal(month) }}{{ ', ' if not loop.last }}
            {%- endfor -%}
        ))
    {%- endif -%}
{%- endmacro %}

{% macro month_literal(month) -%}
    cast('{{ month | replace("'", "''") }}' as date)
{%- endmacro %}


{#- The stored fingerprint of the row's month, as a literal per month. -#}
{% macro month_fingerprint_of(month_column, month_fingerprints) -%}
    {{ landing_fingerprint_of(
        'cast(' ~ month_column ~ ' as ' ~ dbt.type_string() ~ ')', month_fingerprints
    ) }}
{%- endmacro %}


{#- Post-hook of a monthly incremental model: rows computed from other
    inputs than the current ones (a month no input holds any more, after a
    run that recomputed every month; rows stored before the model was
    incremental, with no fingerprint) are deleted, as a rebuilt table would
    not hold them. `monthly_sources`: those of the model's monthly state
    (the bills' by default). -#}
{% macro delete_rows_of_other_inputs(monthly_sources=none) -%}
    {%- if execute and not is_unit_test() -%}
        {%- set chained = model.config.meta.get('monthly_inputs') -%}
        {%- set inputs_fingerprint = chained_inputs_fingerprint(chained) if chained
            else upstream_inputs_fingerprint(monthly_sources or billing_monthly_sources()) -%}
        delete from {{ this }}
        where coalesce(inputs_fingerprint, '') != '{{ inputs_fingerprint }}'
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}


{#- Ends the final select of a monthly incremental model (after `select *
    from final`): its rows are stored in month order, so that each month's
    rows fill row groups of their own. A later run replacing a month
    (delete+insert) then drops whole row groups; a month's rows spread over
    every row group of a table built whole made DuckDB rewrite all of them
    when the run committed the delete (at 10M line items, 2.4 s of COMMIT in
    a nightly run, against 2 s of sorting in the full build). BigQuery
    partitions a table by month instead. -#}
{% macro stored_in_month_order(month_column) -%}
    {{ return(adapter.dispatch('stored_in_month_order', 'ai_carbon')(month_column)) }}
{%- endmacro %}
{% macro default__stored_in_month_order(month_column) -%}
    order by {{ month_column }}
{%- endmacro %}
{% macro bigquery__stored_in_month_order(month_column) -%}
{%- endmacro %}


{#- Monthly models after other monthly models (every one after the cloud
    energy estimate: the energy, emissions, allocation and marts), where the
    bills are not the only monthly input: on-premises GPU usage, Slurm and
    idle energy, the providers' exports, the embodied hardware are monthly
    too, and a night that lands one of them must not recompute every month.
    The model's config names its inputs:

        meta={'monthly_inputs': {
            'models': [...],            monthly incremental models it reads by month
            'tables_by_month': [...],   other tables it reads by month
            'tables': [...],            tables it reads whole (factor selections)
        }}

    A month's fingerprint is, for each input model, the fingerprints stored
    with that month's rows (its month and inputs fingerprints: what it was
    computed from), and for each table read by month a hash of that month's
    rows; the inputs fingerprint covers the rest as for the cloud energy, the
    walk upstream stopping at those inputs, plus a hash of each table read
    whole. Every input named must be read by month only (a month's rows from
    that month's rows), as the models' `months_filter` and joins on month
    do. -#}
{% macro chained_monthly_state() -%}
    {%- set inputs = model.config.meta.get('monthly_inputs', {}) if execute else {} -%}
    {%- set parts = {} -%}
    {%- if execute and not is_unit_test() -%}
        {%- for name in inputs.get('models', []) -%}
            {%- do parts.update({name: stored_month_states(model_relation(name))}) -%}
        {%- endfor -%}
        {%- for name in inputs.get('tables_by_month', []) -%}
            {%- do parts.update({name: rows_fingerprints_by_month(model_relation(name))}) -%}
        {%- endfor -%}
    {%- endif -%}
    {%- set month_fingerprints = combined_month_fingerprints(parts) -%}
    {%- set inputs_fingerprint = chained_inputs_fingerprint(inputs) -%}
    {{ return({
        'month_fingerprints': month_fingerprints,
        'inputs_fingerprint': inputs_fingerprint,
        'months': months_to_recompute(month_fingerprints, inputs_fingerprint) if is_incremental() else none,
    }) }}
{%- endmacro %}

{#- The inputs fingerprint of a model with `monthly_inputs` (above). -#}
{% macro chained_inputs_fingerprint(inputs) -%}
    {%- if not execute or is_unit_test() -%}
        {{ return('') }}
    {%- endif -%}
    {%- set stop_at = inputs.get('models', []) + inputs.get('tables_by_month', []) + inputs.get('tables', []) -%}
    {%- set parts = [upstream_inputs_fingerprint([], stop_at=stop_at)] -%}
    {%- for name in inputs.get('tables', []) | sort -%}
        {%- do parts.append(name ~ '=' ~ rows_fingerprint(model_relation(name))) -%}
    {%- endfor -%}
    {{ return(local_md5(parts | join(';'))) }}
{%- endmacro %}

{#- {'2025-06-01': '<month fingerprints>@<inputs fingerprints>'} stored by a monthly model. -#}
{% macro stored_month_states(relation) -%}
    {%- if load_relation(relation) is none -%}
        {{ return({}) }}
    {%- endif -%}
    {%- set query -%}
        select
            cast(month as {{ dbt.type_string() }}) as month_value,
            min(month_fingerprint) || '|' || max(month_fingerprint) || '@'
            || min(inputs_fingerprint) || '|' || max(inputs_fingerprint) as state
        from {{ relation }}
        where month is not null
        group by month
    {%- endset -%}
    {%- set states = {} -%}
    {%- for row in run_query(query) -%}
        {%- do states.update({row[0]: row[1] or ''}) -%}
    {%- endfor -%}
    {{ return(states) }}
{%- endmacro %}

{#- {'2025-06-01': '<hash of the month's rows>'} of a table with a `month` column. -#}
{% macro rows_fingerprints_by_month(relation, month_column='month', exact=false) -%}
    {%- set fingerprints = {} -%}
    {%- if load_relation(relation) is none -%}
        {{ return(fingerprints) }}
    {%- endif -%}
    {%- for row in run_query(rows_fingerprints_sql(relation, month_column, exact)) -%}
        {%- do fingerprints.update({row[0]: row[1]}) -%}
    {%- endfor -%}
    {{ return(fingerprints) }}
{%- endmacro %}

{#- A hash of every row of a table ('' when it has none or does not exist). -#}
{% macro rows_fingerprint(relation) -%}
    {%- if load_relation(relation) is none -%}
        {{ return('') }}
    {%- endif -%}
    {%- set rows = run_query(rows_fingerprints_sql(relation, none)) -%}
    {{ return((rows[0][1] if rows | length > 0 else '') or '') }}
{%- endmacro %}

{#- Rows (group, fingerprint of the group's rows); one row for the whole
    table when `group_column` is none. The fingerprint is the rows' count
    and the sum of a hash of each row: independent of the rows' order, with
    no sort and no text built. Floating-point columns are hashed at single
    precision (7 significant digits): a parallel sum differs in its last bits
    from one run to the next, and must not read as a change (a change below
    that precision is not one either). `exact`: hashed as stored, for rows
    read from landing (a bill's cost changed in its eighth digit is a
    change). -#}
{% macro rows_fingerprints_sql(relation, group_column, exact=false) -%}
    {%- set values = [] -%}
    {%- for column in adapter.get_columns_in_relation(relation) -%}
        {%- set name = adapter.quote(column.name) -%}
        {%- do values.append(('cast(' ~ name ~ ' as float)')
            if not exact and column.dtype | upper in ('DOUBLE', 'FLOAT', 'REAL', 'FLOAT64', 'FLOAT8', 'FLOAT4')
            else name) -%}
    {%- endfor -%}
    {{ return(adapter.dispatch('rows_fingerprints_sql', 'ai_carbon')(relation, group_column, values)) }}
{%- endmacro %}
{% macro default__rows_fingerprints_sql(relation, group_column, values) -%}
    select
        {{ 'cast(' ~ group_column ~ ' as varchar)' if group_column else "''" }} as group_value,
        cast(count(*) as varchar) || ':' || cast(sum(hash({{ values | join(', ') }})) as varchar) as fingerprint
    from {{ relation }}
    {{ 'group by ' ~ group_column if group_column }}
{%- endmacro %}
{% macro bigquery__rows_fingerprints_sql(relation, group_column, values) -%}
    {%- set texts = [] -%}
    {%- for value in values -%}
        {%- do texts.append("coalesce(cast(" ~ value ~ " as string), '~')") -%}
    {%- endfor -%}
    select
        {{ 'cast(' ~ group_column ~ ' as string)' if group_column else "''" }} as group_value,
        cast(count(*) as string) || ':'
        || cast(sum(cast(farm_fingerprint({{ texts | join(" || '|' || ") }}) as bignumeric)) as string) as fingerprint
    from {{ relation }}
    {{ 'group by ' ~ group_column if group_column }}
{%- endmacro %}


{#- The relation of a model of the project by name, from the graph (not
    `ref`, so that an input read through a view, as the bottom-up emissions
    read the located energy, needs no dependency of its own). -#}
{% macro model_relation(name) -%}
    {%- for node in graph.nodes.values() if node.resource_type == 'model' and node.name == name -%}
        {{ return(api.Relation.create(database=node.database, schema=node.schema, identifier=node.alias)) }}
    {%- endfor -%}
    {{ exceptions.raise_compiler_error('monthly_inputs: no model named ' ~ name) }}
{%- endmacro %}
