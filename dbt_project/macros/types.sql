{#- An 8-byte float type: dbt.type_float() renders `float`, which is 4 bytes on
    DuckDB. Reporting views cast their measures with it so that their contracts
    hold on DuckDB and the same SQL runs on BigQuery. -#}
{% macro type_double() -%}
    {{ return(adapter.dispatch('type_double', 'ai_carbon')()) }}
{%- endmacro %}
{% macro default__type_double() -%}
    double
{%- endmacro %}
{% macro bigquery__type_double() -%}
    float64
{%- endmacro %}
