-- Nothing the providers report is lost on the way into the mart: per provider,
-- month and method, fct_emissions' provider-reported kg equal the providers'
-- published totals.
with

published as (

    select
        provider,
        month,
        sum(location_based_kg) as location_kg,
        sum(market_based_kg) as market_kg
    from {{ ref('int_provider_emissions_unioned') }}
    group by provider, month

),

reported as (

    select
        provider,
        month,
        sum(case when method = 'location' then kg_co2e else 0 end) as location_kg,
        sum(case when method = 'market' then kg_co2e else 0 end) as market_kg
    from {{ ref('fct_emissions') }}
    where tier = 'provider_reported'
    group by provider, month

),

compared as (

    select
        published.provider,
        published.month,
        published.location_kg as published_location_kg,
        coalesce(reported.location_kg, 0) as reported_location_kg,
        published.market_kg as published_market_kg,
        coalesce(reported.market_kg, 0) as reported_market_kg
    from published
    left join reported
        on
            published.provider = reported.provider
            and published.month = reported.month

)

select * from compared
where
    abs(published_location_kg - reported_location_kg) > 1e-6 * greatest(1, abs(published_location_kg))
    or abs(published_market_kg - reported_market_kg) > 1e-6 * greatest(1, abs(published_market_kg))
