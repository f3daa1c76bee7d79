-- The per-system emissions (activity and amortised embodied) of the twelve
-- months up to the latest month of activity data, summed to system x category
-- x activity x tier x source x provider x month: the common input of the
-- measurement plan, first-cut estimate, gap analysis and maturity views.
-- feed_source names who delivered the figure: a provider-reported row rests on
-- the provider's carbon export, not on the billing rows that carry it.
with

emissions as (

    select * from {{ ref('fct_emissions') }}
    where accounting_basis in ('activity', 'amortised')

),

systems as (

    select * from {{ ref('dim_ai_system') }}

),

data_through as (

    select max(month) as data_through_month
    from emissions
    where accounting_basis = 'activity'

),

windowed as (

    select
        emissions.system_id,
        systems.kind as system_kind,
        emissions.emission_category,
        emissions.activity,
        emissions.tier,
        emissions.source,
        case
            when emissions.tier = 'provider_reported' then emissions.provider || '_carbon'
            else emissions.source
        end as feed_source,
        emissions.provider,
        emissions.month,
        data_through.data_through_month,
        sum(case when emissions.method = 'location' then emissions.kg_co2e else 0 end) as location_kg_co2e,
        sum(case when emissions.method = 'market' then emissions.kg_co2e else 0 end) as market_kg_co2e,
        sum(case when emissions.method = 'location' then emissions.energy_kwh else 0 end) as energy_kwh
    from emissions
    cross join data_through
    inner join systems
        on emissions.system_id = systems.system_id
    where
        emissions.month > {{ dbt.dateadd('month', -12, 'data_through.data_through_month') }}
        and emissions.month <= data_through.data_through_month
    group by
        emissions.system_id,
        systems.kind,
        emissions.emission_category,
        emissions.activity,
        emissions.tier,
        emissions.source,
        emissions.provider,
        emissions.month,
        data_through.data_through_month

)

select * from windowed
