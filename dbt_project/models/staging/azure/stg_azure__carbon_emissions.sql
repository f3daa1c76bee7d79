with

source as (

    {{ landing_source('azure_carbon', 'emissions') }}

),

renamed as (

    select
        -- ids
        {{ surrogate_key(["'azure_carbon.emissions'", 'month', 'file_row_number']) }} as carbon_emission_id,
        lower("subscriptionId") as subscription_id,
        "resourceId" as resource_id,
        "resourceGroup" as resource_group,

        -- dimensions
        'azure' as provider,
        report_type,
        "categoryType" as category_type,
        "dataType" as data_type,
        "itemName" as item_name,
        -- one request per scope (Scope1, Scope2, Scope3): the row's GHG scope
        cast({{ regex_extract('carbon_scope', '([123])$', 1) }} as integer) as ghg_scope,
        -- the service as billing rows name it: the resource type
        -- (microsoft.compute/virtualmachines); a ResourceType report names it in itemName
        lower(coalesce(
            "resourceType",
            {{ regex_extract('"resourceId"', '(?i)/providers/([^/]+/[^/]+)', 1) }},
            case when "categoryType" = 'ResourceType' then "itemName" end
        )) as service_code,
        -- `west europe` -> westeurope; a Location report names it in itemName;
        -- null where the report has no location
        {{ cloud_region_code("'azure'",
            'coalesce("location", case when "categoryType" = \'Location\' then "itemName" end)') }}
            as region_code,
        _source_file as source_file,

        -- measures (the API reports kgCO2e, for the one scope of the row)
        cast("latestMonthEmissions" as {{ type_double() }}) as emissions_kg,
        cast("carbonIntensity" as {{ type_double() }}) as carbon_intensity,

        -- timestamps
        cast(usage_month as date) as usage_month

    from source

)

select * from renamed
