{#-
    Type names dbt has no portable macro for. `dbt.type_float()` is FLOAT on
    dbt-duckdb, which DuckDB reads as a 4-byte REAL: figures would lose
    digits, so the project's 8-byte float is named here. Strings use
    `dbt.type_string()` (TEXT, DuckDB's alias of VARCHAR; STRING on BigQuery).
-#}

{#- An 8-byte IEEE float: DOUBLE on DuckDB, FLOAT64 on BigQuery. -#}
{% macro type_double() -%}
    {{ return(adapter.dispatch('type_double', 'ai_carbon')()) }}
{%- endmacro %}
{% macro default__type_double() -%}
    {{ return('double') }}
{%- endmacro %}
{% macro bigquery__type_double() -%}
    {{ return('float64') }}
{%- endmacro %}
