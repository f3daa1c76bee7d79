{#-
    A model with a custom schema lands in exactly that schema (`reporting`),
    not dbt's default `<target schema>_<custom>`: people open
    `reporting.inventory`, whatever the target is called.
-#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
