-- The providers' own emissions figures (kgCO2e; latest model version only) per
-- cell: provider x billing account x account/project x service x region x month.
with

aws_emissions as (

    select * from {{ ref('stg_aws__carbon_emissions') }}
    where is_latest_model_version

),

gcp_footprints as (

    select * from {{ ref('stg_gcp__carbon_footprints') }}
    where is_latest_model_version

),

aws_rows as (

    select
        'aws_carbon' as source,
        provider,
        payer_account_id as billing_account_id,
        usage_account_id as account_id,
        product_code as service_code,
        region_code,
        usage_month as month,
        'aws_carbon_export:' || model_version as factor_set,
        location_based_kg,
        market_based_kg,
        scope1_kg,
        scope2_location_based_kg,
        scope2_market_based_kg,
        scope3_location_based_kg,
        scope3_market_based_kg
    from aws_emissions

),

gcp_rows as (

    select
        'gcp_carbon' as source,
        provider,
        billing_account_id,
        project_id as account_id,
        service_id as service_code,
        region_code,
        usage_month as month,
        'gcp_carbon_footprint:' || cast(carbon_model_version as varchar) as factor_set,
        location_based_kg,
        market_based_kg,
        scope1_kg,
        scope2_location_based_kg,
        scope2_market_based_kg,
        -- Google's scope 3 does not depend on the electricity method
        scope3_kg as scope3_location_based_kg,
        scope3_kg as scope3_market_based_kg
    from gcp_footprints

),

unioned as (

    select * from aws_rows
    union all
    select * from gcp_rows

),

cells as (

    select
        {{ surrogate_key([
            'provider', 'billing_account_id', 'account_id', 'service_code', 'region_code', 'month'
        ]) }} as provider_cell_id,
        source,
        provider,
        billing_account_id,
        account_id,
        service_code,
        region_code,
        month,
        cast(extract(year from month) as integer) as year,
        max(factor_set) as factor_set,
        sum(location_based_kg) as location_based_kg,
        sum(market_based_kg) as market_based_kg,
        sum(scope1_kg) as scope1_kg,
        sum(scope2_location_based_kg) as scope2_location_based_kg,
        sum(scope2_market_based_kg) as scope2_market_based_kg,
        sum(scope3_location_based_kg) as scope3_location_based_kg,
        sum(scope3_market_based_kg) as scope3_market_based_kg
    from unioned
    group by source, provider, billing_account_id, account_id, service_code, region_code, month

)

select * from cells
