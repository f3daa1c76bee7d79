{#- Data tests that follow the months a run changed.

    The nightly `dbt build` tests what it builds. A generic test (unique,
    not_null, accepted_values, relationships) on a large monthly relation
    read every month of it, every night: at 10M CUR line items the data tests
    made a nightly build 36 s where its models took 14 s, most of them
    reading months no input had changed. Here a test reads only the months
    of its relation that it has not passed as they are now:

    - a month's state is what its rows are made from: the stored
      fingerprints of a monthly incremental model (`month_fingerprint`,
      `inputs_fingerprint`, macros/incremental_months.sql; the CUR model's
      `landing_fingerprint`), or, for a staging view over a landing dataset
      partitioned by month, the fingerprint of the partition's files
      (landing_partition_fingerprints). Same state, same rows: the incremental
      models rest on it.
    - a test notes in its SQL (a comment) the months it reads, with their
      state and the test's definition; at the end of the run, those of the
      tests that passed are recorded in `tested_months`. A failed or warning
      test records nothing, so it reads those months again on the next run.
    - so a test reads: every month, the first time, after `--full-refresh`,
      when its definition changes, with `--vars '{test_every_month: true}'`;
      otherwise the months whose rows changed since it last passed.

    A published warehouse passed every test (transform/build.py publishes
    only a build that passed), so the months a test skips are months it
    passed on the same rows.

    Which relations: a model configured with `meta.tests_by_month`
    ({'column': <month column>, 'landing': [source, table, partition key]}
    for a staging view over a partitioned landing dataset, or
    {'column': ..., 'fingerprint': <its fingerprint column>, 'column_type':
    'text' if the month is not a date} for a table), and every
    incremental model keyed on `month` (the monthly models, with their two
    fingerprint columns). Tests of other relations read them whole. Singular
    tests (tests/*.sql) are not filtered. -#}


{#- dbt's generic tests read their model through get_where_subquery: the
    project's version (a root project's macro takes the place of dbt's own)
    adds the months filter to the test's own `where`, and the note of what
    the test reads. -#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where') -%}
    {%- set tested = months_a_test_reads() -%}
    {%- set conditions = [] -%}
    {%- if where -%}
        {%- do conditions.append('(' ~ where ~ ')') -%}
    {%- endif -%}
    {%- if tested is not none and tested.filter is not none -%}
        {%- do conditions.append(tested.filter) -%}
    {%- endif -%}
    {%- if conditions | length > 0 or tested is not none -%}
        {%- set filtered -%}
            (select * from {{ relation }}
            {%- if conditions | length > 0 %} where {{ conditions | join(' and ') }}{% endif %}
            {%- if tested is not none %} /* tested_months {{ tojson(tested.note, sort_keys=true) }} */{% endif %}) dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}


{#- What a test of a relation whose tests follow its months reads: {'filter':
    SQL (`<column> in (...)`, `false` when it passed every month as it is
    now; none for every row), 'note': {'definition', 'months': {month:
    state}}}; none for a relation read whole. -#}
{% macro months_a_test_reads() -%}
    {%- if not execute or model.resource_type != 'test' or model.attached_node is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set spec = tests_by_month_spec(graph.nodes.get(model.attached_node)) -%}
    {%- if spec is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set states = month_states(graph.nodes[model.attached_node], spec) -%}
    {%- set definition = test_definition_fingerprint() -%}
    {%- set passed = {} -%}
    {%- set record = tested_months_relation() -%}
    {%- if not flags.FULL_REFRESH and not var('test_every_month', false)
        and load_relation(record) is not none -%}
        {%- set query -%}
            select month_value, month_state from {{ record }}
            where test_id = '{{ model.unique_id }}' and test_definition = '{{ definition }}'
        {%- endset -%}
        {%- for row in run_query(query) -%}
            {%- do passed.update({row[0]: row[1]}) -%}
        {%- endfor -%}
    {%- endif -%}
    {%- set months = {} -%}
    {%- for month in states | sort if passed.get(month) != states[month] -%}
        {%- do months.update({month: states[month]}) -%}
    {%- endfor -%}
    {%- set note = {'definition': definition, 'months': months} -%}
    {{ log(model.name ~ ': months tested: ' ~ (
        'every month' if months | length == states | length else (months | list | sort | join(', ') or 'none')
    )) }}
    {%- if months | length == states | length -%}
        {#- every month: the relation whole (also rows of no month) -#}
        {{ return({'filter': none, 'note': note}) }}
    {%- endif -%}
    {%- set month_list = months | list | sort -%}
    {%- if spec.get('landing') or spec.get('column_type') == 'text' -%}
        {%- set filter = in_values(spec.column, month_list) -%}
    {%- else -%}
        {%- set filter = in_months(spec.column, month_list) -%}
    {%- endif -%}
    {{ return({'filter': '(' ~ filter ~ ' or ' ~ spec.column ~ ' is null)', 'note': note}) }}
{%- endmacro %}


{#- How a model's tests follow its months ({'column', and 'landing' or
    'fingerprint'; neither for a monthly model's two fingerprints}), or none
    when they read it whole. -#}
{% macro tests_by_month_spec(node) -%}
    {%- if node is none or node.resource_type != 'model' -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set spec = node.config.meta.get('tests_by_month') -%}
    {%- if spec is not none -%}
        {{ return(spec) }}
    {%- endif -%}
    {%- if node.config.materialized == 'incremental' and node.config.unique_key == 'month' -%}
        {{ return({'column': 'month'}) }}
    {%- endif -%}
    {{ return(none) }}
{%- endmacro %}


{#- {month value (as text): state} of the tested relation now (none stored
    when it is not built yet, compiling alone: it is then read whole), read
    as the incremental models read their inputs' states
    (macros/incremental_months.sql, macros/landing.sql). -#}
{% macro month_states(node, spec) -%}
    {%- if spec.get('landing') -%}
        {{ return(landing_partition_fingerprints(spec.landing[0], spec.landing[1], spec.landing[2])) }}
    {%- elif spec.get('fingerprint') -%}
        {{ return(monthly_input_fingerprints(ref(node.name), spec.column, spec.fingerprint)) }}
    {%- endif -%}
    {{ return(stored_month_states(ref(node.name))) }}
{%- endmacro %}


{#- What the test checks: its kind, arguments and configured where / severity
    (a test whose definition changes reads every month again). -#}
{% macro test_definition_fingerprint() -%}
    {{ return(local_md5(tojson({
        'test': model.test_metadata,
        'raw_code': model.raw_code,
        'where': config.get('where'),
        'severity': config.get('severity'),
        'error_if': config.get('error_if'),
        'warn_if': config.get('warn_if'),
    }, sort_keys=true))) }}
{%- endmacro %}


{% macro tested_months_relation() -%}
    {{ return(api.Relation.create(database=target.database, schema=target.schema, identifier='tested_months')) }}
{%- endmacro %}


{#- on-run-start: the record, when missing. -#}
{% macro create_tested_months_table() -%}
    create table if not exists {{ tested_months_relation() }} (
        test_id {{ dbt.type_string() }},
        test_definition {{ dbt.type_string() }},
        month_value {{ dbt.type_string() }},
        month_state {{ dbt.type_string() }}
    )
{%- endmacro %}


{#- on-run-end: the months each passing test read (its note) become passed,
    replacing what that test recorded for them and its records under other
    definitions. -#}
{% macro record_tested_months(results) -%}
    {%- set rows = [] -%}
    {%- for result in results if execute and result.node.resource_type == 'test' and result.status == 'pass' -%}
        {%- set found = modules.re.search('/\\* tested_months (\\{.*?\\}) \\*/', result.node.compiled_code or '') -%}
        {%- if found -%}
            {%- set note = fromjson(found.group(1)) -%}
            {%- for month in note.months | sort -%}
                {%- do rows.append([result.node.unique_id, note.definition, month, note.months[month]]) -%}
            {%- endfor -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if rows | length == 0 -%}
        select 1
    {%- else -%}
        {%- set record = tested_months_relation() -%}
        delete from {{ record }} as passed
        where exists (
            select 1 from (
                {{ tested_rows(rows) }}
            ) as tested
            where
                tested.test_id = passed.test_id
                and (
                    tested.test_definition != passed.test_definition
                    or tested.month_value = passed.month_value
                )
        );
        insert into {{ record }} (test_id, test_definition, month_value, month_state)
        {{ tested_rows(rows) }}
    {%- endif -%}
{%- endmacro %}

{#- Rows (test_id, test_definition, month_value, month_state) as a select. -#}
{% macro tested_rows(rows) -%}
    {%- for row in rows %}
    select
        '{{ row[0] | replace("'", "''") }}' as test_id,
        '{{ row[1] | replace("'", "''") }}' as test_definition,
        '{{ row[2] | replace("'", "''") }}' as month_value,
        '{{ row[3] | replace("'", "''") }}' as month_state
    {{- '\n    union all' if not loop.last }}
    {%- endfor %}
{%- endmacro %}
