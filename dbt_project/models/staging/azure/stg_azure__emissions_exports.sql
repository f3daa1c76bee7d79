with

source as (

    {{ landing_source('azure_carbon', 'emissions_export') }}

),

renamed as (

    select
        -- ids
        {{ surrogate_key(["'azure_carbon.emissions_export'", 'month', 'file_row_number']) }} as emission_export_id,
        "enrollmentId" as enrollment_id,
        lower("subscriptionId") as subscription_id,

        -- dimensions
        'azure' as provider,
        "subscriptionName" as subscription_name,
        "azureServiceName" as service_name,
        "subService" as sub_service,
        "azureRegionName" as region_name,
        -- West Europe -> westeurope, as the region codes of billing rows
        {{ cloud_region_code("'azure'", '"azureRegionName"') }} as region_code,
        scope as scope_name,
        cast(coalesce("scopeId", cast({{ regex_extract('scope', '([123])$', 1) }} as bigint)) as integer) as ghg_scope,
        _source_file as source_file,

        -- measures (the export reports metric tonnes; kg from here on)
        {{ to_kg_co2e('"totalEmissions"', "'mtCO2e'") }} as emissions_kg,

        -- timestamps
        cast(usage_month as date) as usage_month,
        "dateKey" as date_key

    from source

)

select * from renamed
