-- Every feed of each AI system x emission category in the twelve-month
-- window, with its cadence, the last day its data covers and whether it is
-- late: more days from that day to the warehouse's data as of (the ledger's
-- latest load, never the clock, so a rebuild gives the same answer) than the
-- source's allowance in source_cadences.
with

windowed as (

    select * from {{ ref('int_system_emissions_windowed') }}

),

cadences as (

    select * from {{ ref('source_cadences') }}

),

daily_usage as (

    -- telemetry sources say which day their data reaches
    select
        system_id,
        source,
        max(usage_date) as last_usage_date
    from {{ ref('fct_gpu_usage') }}
    where period_grain = 'day'
    group by system_id, source

),

data_as_of as (

    select max(loaded_at) as data_as_of from {{ ref('fct_landing_loads') }}

),

feeds as (

    select
        system_id,
        emission_category,
        feed_source,
        max(provider) as provider,
        sum(location_kg_co2e) as location_kg_co2e,
        sum(energy_kwh) as energy_kwh,
        max(month) as last_month
    from windowed
    group by system_id, emission_category, feed_source

),

dated as (

    select
        feeds.*,
        cadences.cadence,
        cadences.late_after_days,
        cadences.instrument,
        -- a monthly figure covers its month, but not past the last load
        coalesce(
            daily_usage.last_usage_date,
            least(
                cast({{ dbt.dateadd('day', -1, dbt.dateadd('month', 1, 'feeds.last_month')) }} as date),
                cast(data_as_of.data_as_of as date)
            )
        ) as data_through_date,
        cast(data_as_of.data_as_of as date) as data_as_of_date,
        row_number() over (
            partition by feeds.system_id, feeds.emission_category
            order by feeds.location_kg_co2e desc, feeds.energy_kwh desc, feeds.feed_source asc
        ) as feed_order
    from feeds
    cross join data_as_of
    left join cadences
        on feeds.feed_source = cadences.data_source
    left join daily_usage
        on
            feeds.system_id = daily_usage.system_id
            and feeds.feed_source = daily_usage.source

),

behind as (

    select
        *,
        {{ dbt.datediff('data_through_date', 'data_as_of_date', 'day') | trim }} as days_behind
    from dated

),

final as (

    select
        *,
        coalesce(days_behind > late_after_days, false) as is_late
    from behind

)

select * from final
