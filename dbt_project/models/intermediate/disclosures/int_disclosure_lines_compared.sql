-- Every line of every frozen disclosure version (year x scope x Scope 3
-- category, once per method) against the same line computed from the current
-- facts: the frozen figure as disclosed, the current one, whether it moved,
-- and why (the reasons of its cells that moved, int_disclosure_cells_compared).
{%- set line_columns = ['year', 'disclosure_version', 'ghg_scope', 'scope3_category', 'method'] %}

with

frozen_lines as (

    select * from {{ ref('stg_disclosures__annual_disclosure_lines') }}

),

cells as (

    select * from {{ ref('int_disclosure_cells_compared') }}

),

loads as (

    select * from {{ ref('fct_landing_loads') }}

),

versions as (

    select
        year,
        disclosure_version,
        max(frozen_at) as frozen_at,
        max(data_as_of) as frozen_data_as_of,
        max(methodology_version) as frozen_methodology_version
    from frozen_lines
    group by year, disclosure_version

),

current_data_as_of as (

    select max(loaded_at) as current_data_as_of from loads

),

frozen_line_methods as (

    select
        year,
        disclosure_version,
        ghg_scope,
        scope3_category,
        'location' as method,
        location_based_tco2e as frozen_tco2e,
        ai_attributed_location_based_tco2e as frozen_ai_attributed_tco2e
    from frozen_lines
    union all
    select
        year,
        disclosure_version,
        ghg_scope,
        scope3_category,
        'market' as method,
        market_based_tco2e as frozen_tco2e,
        ai_attributed_market_based_tco2e as frozen_ai_attributed_tco2e
    from frozen_lines

),

cell_lines as (

    select
        {{ line_columns | join(', ') }},
        sum(current_kg_co2e) / 1000 as current_tco2e,
        sum(current_ai_attributed_kg_co2e) / 1000 as current_ai_attributed_tco2e,
        max(case when is_late_data then 1 else 0 end) = 1 as has_late_data,
        max(case when is_provider_model_change then 1 else 0 end) = 1 as has_provider_model_change,
        max(case when is_factor_update then 1 else 0 end) = 1 as has_factor_update,
        max(case when is_attribution_change then 1 else 0 end) = 1 as has_attribution_change
    from cells
    group by {{ line_columns | join(', ') }}

),

moved_months as (

    select distinct
        {{ line_columns | join(', ') }},
        substring(cast(month as {{ dbt.type_string() }}), 1, 7) as moved_month
    from cells
    where has_moved

),

moved_month_lists as (

    select
        {{ line_columns | join(', ') }},
        {{ dbt.listagg('moved_month', "', '", 'order by moved_month') }} as moved_months
    from moved_months
    group by {{ line_columns | join(', ') }}

),

lines as (

    select
        {%- for column in line_columns %}
            coalesce(frozen_line_methods.{{ column }}, cell_lines.{{ column }}) as {{ column }},
        {%- endfor %}
        coalesce(frozen_line_methods.frozen_tco2e, 0) as frozen_tco2e,
        coalesce(cell_lines.current_tco2e, 0) as current_tco2e,
        frozen_line_methods.frozen_ai_attributed_tco2e,
        coalesce(cell_lines.current_ai_attributed_tco2e, 0) as current_ai_attributed_tco2e,
        coalesce(cell_lines.has_late_data, false) as has_late_data,
        coalesce(cell_lines.has_provider_model_change, false) as has_provider_model_change,
        coalesce(cell_lines.has_factor_update, false) as has_factor_update,
        coalesce(cell_lines.has_attribution_change, false) as has_attribution_change
    from frozen_line_methods
    full outer join cell_lines
        on
            frozen_line_methods.year = cell_lines.year
            and frozen_line_methods.disclosure_version = cell_lines.disclosure_version
            and frozen_line_methods.ghg_scope = cell_lines.ghg_scope
            and coalesce(frozen_line_methods.scope3_category, 0) = coalesce(cell_lines.scope3_category, 0)
            and frozen_line_methods.method = cell_lines.method

),

compared as (

    select
        lines.*,
        versions.frozen_at,
        versions.frozen_data_as_of,
        current_data_as_of.current_data_as_of,
        versions.frozen_methodology_version,
        '{{ var("methodology_version") }}' as current_methodology_version,
        {{ figures_differ('lines.frozen_tco2e', 'lines.current_tco2e') }}
        or (
            lines.frozen_ai_attributed_tco2e is not null
            and {{ figures_differ('lines.frozen_ai_attributed_tco2e', 'lines.current_ai_attributed_tco2e') }}
        ) as is_restated
    from lines
    cross join current_data_as_of
    left join versions
        on
            lines.year = versions.year
            and lines.disclosure_version = versions.disclosure_version

),

flagged as (

    select
        {{ surrogate_key(line_columns) }} as line_id,
        {{ line_columns | join(', ') }},
        frozen_at,
        frozen_data_as_of,
        current_data_as_of,
        frozen_methodology_version,
        current_methodology_version,
        frozen_tco2e,
        current_tco2e,
        frozen_ai_attributed_tco2e,
        current_ai_attributed_tco2e,
        is_restated,
        is_restated and has_late_data as is_late_data,
        is_restated and has_provider_model_change as is_provider_model_change,
        is_restated and has_factor_update as is_factor_update,
        is_restated and has_attribution_change as is_attribution_change,
        is_restated
        and coalesce(frozen_methodology_version, '') != current_methodology_version as is_methodology_change
    from compared

),

reasons as (

    select
        line_id,
        1 as reason_order,
        'late data' as reason
    from flagged
    where is_late_data
    union all
    select
        line_id,
        2 as reason_order,
        'provider model version change' as reason
    from flagged
    where is_provider_model_change
    union all
    select
        line_id,
        3 as reason_order,
        'factor update' as reason
    from flagged
    where is_factor_update
    union all
    select
        line_id,
        4 as reason_order,
        'attribution rule change' as reason
    from flagged
    where is_attribution_change
    union all
    select
        line_id,
        5 as reason_order,
        'methodology change' as reason
    from flagged
    where is_methodology_change

),

reason_lists as (

    select
        line_id,
        {{ dbt.listagg('reason', "', '", 'order by reason_order') }} as reasons
    from reasons
    group by line_id

),

final as (

    select
        flagged.*,
        case
            when not flagged.is_restated then cast(null as {{ dbt.type_string() }})
            else coalesce(reason_lists.reasons, 'unexplained')
        end as reasons,
        case when flagged.is_restated then moved_month_lists.moved_months end as moved_months
    from flagged
    left join reason_lists
        on flagged.line_id = reason_lists.line_id
    left join moved_month_lists
        on
            flagged.year = moved_month_lists.year
            and flagged.disclosure_version = moved_month_lists.disclosure_version
            and flagged.ghg_scope = moved_month_lists.ghg_scope
            and coalesce(flagged.scope3_category, 0) = coalesce(moved_month_lists.scope3_category, 0)
            and flagged.method = moved_month_lists.method

)

select * from final
