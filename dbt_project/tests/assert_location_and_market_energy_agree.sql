-- Every activity is reported twice, once per method, on the same energy and
-- cost: per key (everything but the method and its factor columns), energy and
-- cost of the location rows equal those of the market rows.
with

emissions as (

    select * from {{ ref('fct_emissions') }}

),

keyed as (

    select
        month,
        system_id,
        emission_category,
        activity,
        ghg_scope,
        scope3_category,
        tier,
        accounting_basis,
        source,
        provider,
        region_code,
        site_id,
        currency,
        sum(case when method = 'location' then energy_kwh else 0 end) as location_energy_kwh,
        sum(case when method = 'market' then energy_kwh else 0 end) as market_energy_kwh,
        sum(case when method = 'location' then coalesce(cost, 0) else 0 end) as location_cost,
        sum(case when method = 'market' then coalesce(cost, 0) else 0 end) as market_cost,
        count(distinct method) as methods
    from emissions
    group by
        month, system_id, emission_category, activity, ghg_scope, scope3_category, tier,
        accounting_basis, source, provider, region_code, site_id, currency

)

select * from keyed
where
    methods != 2
    or abs(location_energy_kwh - market_energy_kwh) > 1e-6 * greatest(1, abs(location_energy_kwh))
    or abs(location_cost - market_cost) > 1e-6 * greatest(1, abs(location_cost))
