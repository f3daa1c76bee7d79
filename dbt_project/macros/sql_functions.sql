{#-
    The few operations dbt has no cross-database macro for (maps, lists,
    regular expressions, series). Models call these names; the DuckDB
    implementation sits here, so a port to another warehouse adds a
    `<adapter>__` variant instead of touching models.
-#}

{#- The value of `key` in a MAP(VARCHAR, VARCHAR), or null. -#}
{% macro map_value(map_expression, key_expression) -%}
    {{ return(adapter.dispatch('map_value', 'ai_carbon')(map_expression, key_expression)) }}
{%- endmacro %}
{% macro default__map_value(map_expression, key_expression) -%}
    map_extract_value({{ map_expression }}, {{ key_expression }})
{%- endmacro %}


{#- A list of {key, value} structs as a MAP; `fallback_list` adds the pairs of a
    second list whose keys the first lacks (GCP: row labels win over project labels). -#}
{% macro key_value_list_to_map(list_expression, fallback_list=none) -%}
    {{ return(adapter.dispatch('key_value_list_to_map', 'ai_carbon')(list_expression, fallback_list)) }}
{%- endmacro %}
{% macro default__key_value_list_to_map(list_expression, fallback_list) -%}
    {%- if fallback_list is none -%}
    map_from_entries(
        list_transform(coalesce({{ list_expression }}, []), lambda pair: {'key': pair.key, 'value': pair.value})
    )
    {%- else -%}
    map_from_entries(
        list_transform(
            list_concat(
                coalesce({{ list_expression }}, []),
                list_filter(
                    coalesce({{ fallback_list }}, []),
                    lambda fallback: not list_contains(
                        list_transform(coalesce({{ list_expression }}, []), lambda pair: pair.key), fallback.key
                    )
                )
            ),
            lambda pair: {'key': pair.key, 'value': pair.value}
        )
    )
    {%- endif -%}
{%- endmacro %}


{#- CUR resource tags with CUR's `user_` prefix of user-defined tags removed, so
    rules can name the key as it is set on the resource. When a delivery has both
    `user_x` and `x`, the prefixed (user-defined) one wins. -#}
{% macro cur_tags_without_user_prefix(map_expression) -%}
    {{ return(adapter.dispatch('cur_tags_without_user_prefix', 'ai_carbon')(map_expression)) }}
{%- endmacro %}
{% macro default__cur_tags_without_user_prefix(map_expression) -%}
    map_from_entries(
        list_transform(
            list_filter(
                map_entries(coalesce({{ map_expression }}, map())),
                lambda tag: starts_with(tag.key, 'user_')
                or not list_contains(map_keys(coalesce({{ map_expression }}, map())), 'user_' || tag.key)
            ),
            lambda tag: {'key': regexp_replace(tag.key, '^user_', ''), 'value': tag.value}
        )
    )
{%- endmacro %}


{#- Group `group_number` of the first match of `pattern` in `expression`, or null. -#}
{% macro regex_extract(expression, pattern, group_number=0) -%}
    {{ return(adapter.dispatch('regex_extract', 'ai_carbon')(expression, pattern, group_number)) }}
{%- endmacro %}
{% macro default__regex_extract(expression, pattern, group_number) -%}
    nullif(regexp_extract({{ expression }}, '{{ pattern }}', {{ group_number }}), '')
{%- endmacro %}


{#- Milliseconds since the Unix epoch as a UTC timestamp. -#}
{% macro epoch_ms_to_timestamp(expression) -%}
    {{ return(adapter.dispatch('epoch_ms_to_timestamp', 'ai_carbon')(expression)) }}
{%- endmacro %}
{% macro default__epoch_ms_to_timestamp(expression) -%}
    epoch_ms({{ expression }})
{%- endmacro %}


{#- Every row of `relation` once per calendar month that [start, end) touches,
    with that month's first day as `month_start`. -#}
{% macro rows_per_month(relation, start_column, end_column) -%}
    {{ return(adapter.dispatch('rows_per_month', 'ai_carbon')(relation, start_column, end_column)) }}
{%- endmacro %}
{% macro default__rows_per_month(relation, start_column, end_column) -%}
    select
        *,
        cast(unnest(generate_series(
            date_trunc('month', {{ start_column }}),
            date_trunc('month', {{ end_column }} - interval '1 microsecond'),
            interval '1 month'
        )) as date) as month_start
    from {{ relation }}
    where {{ end_column }} > {{ start_column }}
{%- endmacro %}


{#- Sum of one numeric field over a list of structs (0 for an empty list). -#}
{% macro struct_list_sum(list_expression, field) -%}
    {{ return(adapter.dispatch('struct_list_sum', 'ai_carbon')(list_expression, field)) }}
{%- endmacro %}
{% macro default__struct_list_sum(list_expression, field) -%}
    coalesce(list_sum(list_transform({{ list_expression }}, lambda item: item.{{ field }})), 0)
{%- endmacro %}


{#- The first row of each `partition_by` group in `order_by` order (the
    signature of dbt_utils.deduplicate, without the package). -#}
{% macro deduplicate(relation, partition_by, order_by) -%}
    {{ return(adapter.dispatch('deduplicate', 'ai_carbon')(relation, partition_by, order_by)) }}
{%- endmacro %}
{% macro default__deduplicate(relation, partition_by, order_by) -%}
    select *
    from {{ relation }}
    qualify row_number() over (partition by {{ partition_by }} order by {{ order_by }}) = 1
{%- endmacro %}


{#- Cast, or null when the value does not parse (dbt.safe_cast is a plain cast
    on dbt-duckdb). -#}
{% macro try_cast(expression, data_type) -%}
    {{ return(adapter.dispatch('try_cast', 'ai_carbon')(expression, data_type)) }}
{%- endmacro %}
{% macro default__try_cast(expression, data_type) -%}
    try_cast({{ expression }} as {{ data_type }})
{%- endmacro %}
