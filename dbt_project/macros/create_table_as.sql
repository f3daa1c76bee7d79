{#- dbt-duckdb's create_table_as (the first build of a table, and the
    temporary table of an incremental run), one statement per branch when
    the model's query is built month by month (month_by_month and
    partition_by_partition write `{{ branch_separator() }}` between their
    branches): the table is created from the first branch and each other
    branch is inserted by name in turn, in order. Each statement is planned
    on its own: one query with a branch per month took DuckDB 8.5 s to plan
    at 12 months for the energy estimate (its projection pull-up), and longer
    with more months. Any other query goes to dbt-duckdb's own macro. -#}
{% macro duckdb__create_table_as(temporary, relation, compiled_code, language='sql', partitioned_by=none, sorted_by=none) -%}
    {%- set separator = branch_separator() -%}
    {%- if language != 'sql' or separator not in compiled_code -%}
        {{ return(dbt.duckdb__create_table_as(
            temporary, relation, compiled_code, language, partitioned_by=partitioned_by, sorted_by=sorted_by
        )) }}
    {%- endif -%}
    {%- set branches = compiled_code.split(separator) -%}
    {{ dbt.duckdb__create_table_as(
        temporary, relation, branches[0], language, partitioned_by=partitioned_by, sorted_by=sorted_by
    ) }}
    {%- for branch in branches[1:] %}
    insert into {{ relation.include(database=(not temporary), schema=(not temporary)) }} by name
    {{ branch }};
    {%- endfor %}
{%- endmacro %}

{#- Between the branches of a query built month by month: ends one branch
    and starts the next, a UNION ALL for anyone reading the compiled query
    as one. -#}
{% macro branch_separator() -%}
    {{ return('\n-- next branch (create_table_as runs it on its own)\nunion all\n') }}
{%- endmacro %}
