-- The first-cut estimate: each AI system's baseline footprint per emission
-- category in tCO2e per year (location- and market-based), from the twelve
-- months up to the latest month of activity data, annualised over the months
-- the system was seen in them. Where a production inference system's idle
-- capacity is not measured, idle serving is taken to be at least what the
-- documented default GPU utilisation implies: idle >= active x (1 - u) / u,
-- u = methodology gpu_utilisation_default (0.5, Cloud Carbon Footprint's
-- average utilisation), the assumption named on the row.
with

windowed as (

    select * from {{ ref('int_system_emissions_windowed') }}

),

systems as (

    select * from {{ ref('dim_ai_system') }}

),

settings as (

    select * from {{ ref('int_settings_pivoted') }}

),

-- months from the system's first month in the window to the last month of data
system_months as (

    select
        system_id,
        max(data_through_month) as data_through_month,
        {{ dbt.datediff('min(month)', 'max(data_through_month)', 'month') | trim }} + 1 as months_observed
    from windowed
    group by system_id

),

cells as (

    select
        system_id,
        emission_category,
        sum(location_kg_co2e) as location_kg_co2e,
        sum(market_kg_co2e) as market_kg_co2e,
        sum(case when activity = 'gpu' then location_kg_co2e else 0 end) as active_location_kg_co2e,
        sum(case when activity = 'gpu' then market_kg_co2e else 0 end) as active_market_kg_co2e,
        sum(case when activity = 'gpu_idle' then location_kg_co2e else 0 end) as idle_location_kg_co2e,
        sum(case when activity = 'gpu_idle' then market_kg_co2e else 0 end) as idle_market_kg_co2e,
        max(
            case when activity in ('gpu', 'gpu_idle') and tier = 'measured' then 1 else 0 end
        ) = 1 as is_idle_measured
    from windowed
    group by system_id, emission_category

),

with_idle as (

    select
        cells.*,
        settings.gpu_utilisation_default as assumed_utilisation,
        cells.emission_category = 'inference' and not cells.is_idle_measured as applies_idle_assumption
    from cells
    cross join settings

),

uplifted as (

    select
        *,
        case
            when applies_idle_assumption
                then greatest(
                        active_location_kg_co2e * (1 - assumed_utilisation) / assumed_utilisation
                        - idle_location_kg_co2e,
                        0
                    )
            else 0
        end as idle_uplift_location_kg_co2e,
        case
            when applies_idle_assumption
                then greatest(
                        active_market_kg_co2e * (1 - assumed_utilisation) / assumed_utilisation
                        - idle_market_kg_co2e,
                        0
                    )
            else 0
        end as idle_uplift_market_kg_co2e
    from with_idle

),

final as (

    select
        cast(uplifted.system_id as {{ dbt.type_string() }}) as system_id,
        cast(systems.system_name as {{ dbt.type_string() }}) as system_name,
        cast(systems.kind as {{ dbt.type_string() }}) as system_kind,
        cast(uplifted.emission_category as {{ dbt.type_string() }}) as emission_category,
        cast(system_months.data_through_month as date) as data_through_month,
        cast(system_months.months_observed as integer) as months_observed,
        uplifted.location_kg_co2e / 1000 as observed_location_tco2e,
        uplifted.market_kg_co2e / 1000 as observed_market_tco2e,
        (uplifted.location_kg_co2e + uplifted.idle_uplift_location_kg_co2e)
        * 12 / system_months.months_observed / 1000 as annual_location_tco2e,
        (uplifted.market_kg_co2e + uplifted.idle_uplift_market_kg_co2e)
        * 12 / system_months.months_observed / 1000 as annual_market_tco2e,
        uplifted.idle_uplift_location_kg_co2e * 12 / system_months.months_observed / 1000
            as idle_uplift_location_tco2e,
        cast(uplifted.is_idle_measured as boolean) as is_idle_measured,
        cast(
            case
                when uplifted.applies_idle_assumption
                    then 'idle not measured: idle >= active x (1 - u) / u, u = methodology.gpu_utilisation_default = '
                        || cast(uplifted.assumed_utilisation as {{ dbt.type_string() }})
                when uplifted.emission_category = 'inference' then 'idle measured: as booked'
            end as {{ dbt.type_string() }}
        ) as idle_assumption
    from uplifted
    inner join systems
        on uplifted.system_id = systems.system_id
    inner join system_months
        on uplifted.system_id = system_months.system_id

)

select * from final
