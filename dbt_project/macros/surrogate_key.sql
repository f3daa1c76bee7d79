{#- md5 over the given columns, nulls made explicit, '|'-separated: the same
    recipe as dbt_utils.generate_surrogate_key, without the package. -#}
{% macro surrogate_key(columns) -%}
    {%- set parts = [] -%}
    {%- for column in columns -%}
        {%- do parts.append(
            "coalesce(" ~ dbt.cast(column, api.Column.translate_type('string')) ~ ", '_null_')"
        ) -%}
        {%- if not loop.last -%}{%- do parts.append("'|'") -%}{%- endif -%}
    {%- endfor -%}
    {{ dbt.hash(dbt.concat(parts)) }}
{%- endmacro %}
