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


{#- An empty map of strings to strings (BigQuery: the empty repeated key /
    value record that stands for a map there, as landing_contract spells it). -#}
{% macro empty_map() -%}
    {{ return(adapter.dispatch('empty_map', 'ai_carbon')()) }}
{%- endmacro %}
{% macro default__empty_map() -%}
    map()
{%- endmacro %}
{% macro bigquery__empty_map() -%}
    array<struct<key string, value string>>[]
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
    `user_x` and `x`, the prefixed (user-defined) one wins. `prefix` is the
    prefix to remove (AWS's FOCUS export writes `user:`). -#}
{% macro cur_tags_without_user_prefix(map_expression, prefix='user_') -%}
    {{ return(adapter.dispatch('cur_tags_without_user_prefix', 'ai_carbon')(map_expression, prefix)) }}
{%- endmacro %}
{% macro default__cur_tags_without_user_prefix(map_expression, prefix) -%}
    map_from_entries(
        list_transform(
            list_filter(
                map_entries(coalesce({{ map_expression }}, map())),
                lambda tag: starts_with(tag.key, '{{ prefix }}')
                or not list_contains(map_keys(coalesce({{ map_expression }}, map())), '{{ prefix }}' || tag.key)
            ),
            lambda tag: {'key': regexp_replace(tag.key, '^{{ prefix }}', ''), 'value': tag.value}
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


{#- True when `expression` matches the regular expression `pattern_expression`
    (an SQL expression, so a pattern can be built from a column; RE2 syntax). -#}
{% macro regex_matches(expression, pattern_expression) -%}
    {{ return(adapter.dispatch('regex_matches', 'ai_carbon')(expression, pattern_expression)) }}
{%- endmacro %}
{% macro default__regex_matches(expression, pattern_expression) -%}
    regexp_matches({{ expression }}, {{ pattern_expression }})
{%- endmacro %}


{#- `expression` with every match of the literal `pattern` replaced. -#}
{% macro regex_replace_all(expression, pattern, replacement) -%}
    {{ return(adapter.dispatch('regex_replace_all', 'ai_carbon')(expression, pattern, replacement)) }}
{%- endmacro %}
{% macro default__regex_replace_all(expression, pattern, replacement) -%}
    regexp_replace({{ expression }}, '{{ pattern }}', '{{ replacement }}', 'g')
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


{#- Every row of `relation` once per UTC day that [start, end) touches, with
    that day as `usage_date`. -#}
{% macro rows_per_day(relation, start_column, end_column) -%}
    {{ return(adapter.dispatch('rows_per_day', 'ai_carbon')(relation, start_column, end_column)) }}
{%- endmacro %}
{% macro default__rows_per_day(relation, start_column, end_column) -%}
    select
        *,
        cast(unnest(generate_series(
            date_trunc('day', {{ start_column }}),
            date_trunc('day', {{ end_column }} - interval '1 microsecond'),
            interval '1 day'
        )) as date) as usage_date
    from {{ relation }}
    where {{ end_column }} > {{ start_column }}
{%- endmacro %}


{#- True when Slurm's compressed host list `node_list` (`gpu[01-04,07],login1`)
    names `host_name`. Handles comma lists of names and of `prefix[ranges]`
    groups, zero-padded or not; a null list names nothing. -#}
{% macro hostlist_contains(node_list, host_name) -%}
    {{ return(adapter.dispatch('hostlist_contains', 'ai_carbon')(node_list, host_name)) }}
{%- endmacro %}
{% macro default__hostlist_contains(node_list, host_name) -%}
    (len(list_filter(
        regexp_extract_all(coalesce({{ node_list }}, ''), '[^,\[]+(\[[^\]]*\])?'),
        lambda host_group: host_group = {{ host_name }} or (
            contains(host_group, '[')
            and starts_with({{ host_name }}, split_part(host_group, '[', 1))
            and len(list_filter(
                string_split(regexp_extract(host_group, '\[(.*)\]', 1), ','),
                lambda host_range:
                    try_cast(substr({{ host_name }}, length(split_part(host_group, '[', 1)) + 1) as ubigint)
                    between try_cast(split_part(host_range, '-', 1) as ubigint)
                    and try_cast(
                        coalesce(nullif(split_part(host_range, '-', 2), ''), split_part(host_range, '-', 1))
                        as ubigint
                    )
                    -- zero-padded ranges (01-48) name only numbers of their width
                    and (
                        length(substr({{ host_name }}, length(split_part(host_group, '[', 1)) + 1))
                        = length(split_part(host_range, '-', 1))
                        or not starts_with(split_part(host_range, '-', 1), '0')
                    )
            )) > 0
        )
    )) > 0)
{%- endmacro %}


{#- `expression` LIKE a pattern whose escape character is a backslash (`\_`,
    `\%`, `\\`), as the org config extractor writes them. The pattern is either
    `pattern_expression` (SQL: a column) or `pattern` (the text of a literal).
    BigQuery has no ESCAPE clause: its LIKE always escapes with a backslash,
    and a literal holding one is written raw (r'...'). -#}
{% macro like_escaped(expression, pattern_expression=none, pattern=none) -%}
    {{ return(adapter.dispatch('like_escaped', 'ai_carbon')(expression, pattern_expression, pattern)) }}
{%- endmacro %}
{% macro default__like_escaped(expression, pattern_expression, pattern) -%}
    {{ expression }} like {{ pattern_expression if pattern is none else "'" ~ pattern ~ "'" }} escape '\'
{%- endmacro %}
{% macro bigquery__like_escaped(expression, pattern_expression, pattern) -%}
    {{ expression }} like {{ pattern_expression if pattern is none else "r'" ~ pattern ~ "'" }}
{%- endmacro %}


{#- The non-null values of `expressions` (strings) joined by the literal
    `separator`; nulls are skipped, not joined as empty strings. -#}
{% macro join_non_null(separator, expressions) -%}
    {{ return(adapter.dispatch('join_non_null', 'ai_carbon')(separator, expressions)) }}
{%- endmacro %}
{% macro default__join_non_null(separator, expressions) -%}
    concat_ws('{{ separator }}', {{ expressions | join(', ') }})
{%- endmacro %}
{% macro bigquery__join_non_null(separator, expressions) -%}
    array_to_string([{{ expressions | join(', ') }}], '{{ separator }}')
{%- endmacro %}


{#- Written between a CTE's name and its body (`rows as {{ cte_inlined() }} (`):
    the CTE is inlined into each query that reads it instead of computed once
    for all of them. DuckDB computes a CTE read twice once, before any filter
    of its readers, so a filter on month (an incremental model reading one
    month of a view) would not reach the rows under it. BigQuery has no such
    hint and plans the CTE with its readers. -#}
{% macro cte_inlined() -%}
    {{ return(adapter.dispatch('cte_inlined', 'ai_carbon')()) }}
{%- endmacro %}
{% macro default__cte_inlined() -%}
    not materialized
{%- endmacro %}
{% macro bigquery__cte_inlined() -%}
{%- endmacro %}
