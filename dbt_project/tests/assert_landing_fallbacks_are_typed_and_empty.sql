-- The relation each staging model falls back to when its landing dataset has
-- no files yet (macros/landing.sql) is valid SQL with the contract's types and
-- has no rows: one check per dataset of macros/landing_contract.sql.
{%- set checks = [] -%}
{%- for dataset, columns in landing_contract().items() -%}
    {%- do checks.append(
        "select '" ~ dataset ~ "' as dataset, count(*) as row_count from ("
        ~ landing_typed_empty(columns) ~ ") as fallback"
    ) -%}
{%- endfor %}

with

fallbacks as (

    {{ checks | join('\n    union all\n    ') }}

)

select * from fallbacks
where row_count != 0
