-- The providers' own emissions figures (kgCO2e; latest model version only) per
-- cell: provider x billing account x account/project x service x region x month.
--
-- Azure (methodology.md section 4): figures per subscription, so the
-- subscription is both billing account and account. The Carbon Optimization
-- API wins over the Emissions Impact Dashboard export for a subscription and
-- month both cover. A dimension a figure does not have is `*` (all): the
-- export's service names are Azure's meter categories, not the resource
-- types billing rows carry, so export cells are subscription x region x month;
-- API reports by subscription, resource group, location or resource type lack
-- the service or the region. Monthly summaries name no subscription and are
-- left out (configure ItemDetailsReport). Azure publishes one figure per
-- scope and no location- vs market-based split: both totals are that figure
-- (has_market_based_figure = false).
with

aws_emissions as (

    select * from {{ ref('stg_aws__carbon_emissions') }}
    where is_latest_model_version

),

gcp_footprints as (

    select * from {{ ref('stg_gcp__carbon_footprints') }}
    where is_latest_model_version

),

azure_api_emissions as (

    select * from {{ ref('stg_azure__carbon_emissions') }}
    where subscription_id is not null

),

azure_export_emissions as (

    select * from {{ ref('stg_azure__emissions_exports') }}

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
        true as has_market_based_figure,
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
        'gcp_carbon_footprint:' || cast(carbon_model_version as {{ dbt.type_string() }}) as factor_set,
        true as has_market_based_figure,
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

azure_api_rows as (

    select
        'azure_carbon' as source,
        provider,
        subscription_id as billing_account_id,
        subscription_id as account_id,
        -- `*` only for reports without the dimension: a resource without a type
        -- must not become a second cell over its typed neighbours
        case
            when category_type in ('Subscription', 'ResourceGroup', 'Location') then '*'
            else service_code
        end as service_code,
        case
            when category_type in ('Subscription', 'ResourceGroup', 'ResourceType') then '*'
            else coalesce(region_code, 'global')
        end as region_code,
        usage_month as month,
        'azure_carbon_optimization:' || report_type || ':' || coalesce(category_type, '') as factor_set,
        false as has_market_based_figure,
        emissions_kg as location_based_kg,
        emissions_kg as market_based_kg,
        -- one row per scope: the split is complete by construction
        case when ghg_scope = 1 then emissions_kg else 0.0 end as scope1_kg,
        case when ghg_scope = 2 then emissions_kg else 0.0 end as scope2_location_based_kg,
        case when ghg_scope = 2 then emissions_kg else 0.0 end as scope2_market_based_kg,
        case when ghg_scope = 3 then emissions_kg else 0.0 end as scope3_location_based_kg,
        case when ghg_scope = 3 then emissions_kg else 0.0 end as scope3_market_based_kg
    from azure_api_emissions

),

azure_api_subscription_months as (

    select distinct
        billing_account_id,
        month
    from azure_api_rows

),

azure_export_rows as (

    select
        'azure_carbon' as source,
        azure_export_emissions.provider,
        azure_export_emissions.subscription_id as billing_account_id,
        azure_export_emissions.subscription_id as account_id,
        '*' as service_code,
        coalesce(azure_export_emissions.region_code, 'global') as region_code,
        azure_export_emissions.usage_month as month,
        'azure_emissions_export' as factor_set,
        false as has_market_based_figure,
        azure_export_emissions.emissions_kg as location_based_kg,
        azure_export_emissions.emissions_kg as market_based_kg,
        case when azure_export_emissions.ghg_scope = 1 then azure_export_emissions.emissions_kg else 0.0 end
            as scope1_kg,
        case when azure_export_emissions.ghg_scope = 2 then azure_export_emissions.emissions_kg else 0.0 end
            as scope2_location_based_kg,
        case when azure_export_emissions.ghg_scope = 2 then azure_export_emissions.emissions_kg else 0.0 end
            as scope2_market_based_kg,
        case when azure_export_emissions.ghg_scope = 3 then azure_export_emissions.emissions_kg else 0.0 end
            as scope3_location_based_kg,
        case when azure_export_emissions.ghg_scope = 3 then azure_export_emissions.emissions_kg else 0.0 end
            as scope3_market_based_kg
    from azure_export_emissions
    -- the API's figure wins where it covers the subscription and month
    left join azure_api_subscription_months
        on
            azure_export_emissions.subscription_id = azure_api_subscription_months.billing_account_id
            and azure_export_emissions.usage_month = azure_api_subscription_months.month
    where azure_api_subscription_months.month is null

),

unioned as (

    select * from aws_rows
    union all
    select * from gcp_rows
    union all
    select * from azure_api_rows
    union all
    select * from azure_export_rows

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
        not {{ dbt.bool_or('not has_market_based_figure') }} as has_market_based_figure,
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
