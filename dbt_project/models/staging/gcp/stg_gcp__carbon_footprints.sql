with

source as (

    {{ landing_source('gcp_carbon', 'carbon_footprint') }}

),

renamed as (

    select
        -- ids
        {{ surrogate_key(["'gcp_carbon.carbon_footprint'", 'month', 'file_row_number']) }} as carbon_footprint_id,
        billing_account_id,
        project.id as project_id,
        project.number as project_number,
        service.id as service_id,

        -- dimensions
        'gcp' as provider,
        service.description as service_description,
        location.location as location_name,
        coalesce(nullif(lower(trim(coalesce(location.region, location.location))), ''), 'global') as region_code,
        carbon_model_version,
        carbon_model_version = max(carbon_model_version) over (
            partition by billing_account_id, usage_month
        ) as is_latest_model_version,
        _source_file as source_file,

        -- measures (Google reports kgCO2e)
        cast("carbon_footprint_kgCO2e".scope1 as {{ type_double() }}) as scope1_kg,
        cast("carbon_footprint_kgCO2e".scope2.location_based as {{ type_double() }}) as scope2_location_based_kg,
        cast("carbon_footprint_kgCO2e".scope2.market_based as {{ type_double() }}) as scope2_market_based_kg,
        cast("carbon_footprint_kgCO2e".scope3 as {{ type_double() }}) as scope3_kg,
        cast("carbon_footprint_total_kgCO2e".location_based as {{ type_double() }}) as location_based_kg,
        cast("carbon_footprint_total_kgCO2e".market_based as {{ type_double() }}) as market_based_kg,

        -- timestamps
        cast(usage_month as date) as usage_month

    from source

)

select * from renamed
