with

source as (

    {{ landing_source('disclosures', 'emissions', disclosure_contract()) }}

),

renamed as (

    select
        -- ids
        cast(reporting_year as integer) as year,
        cast(disclosure_version as integer) as disclosure_version,

        -- dimensions
        cast(system_id as varchar) as system_id,
        cast(emission_category as varchar) as emission_category,
        cast(activity as varchar) as activity,
        cast(ghg_scope as integer) as ghg_scope,
        cast(scope3_category as integer) as scope3_category,
        cast(method as varchar) as method,
        cast(tier as varchar) as tier,
        cast(accounting_basis as varchar) as accounting_basis,
        cast(source as varchar) as source,
        cast(provider as varchar) as provider,
        cast(region_code as varchar) as region_code,
        cast(site_id as varchar) as site_id,
        cast(factor_set as varchar) as factor_set,
        cast(factor_year as integer) as factor_year,
        cast(methodology_version as varchar) as methodology_version,

        -- measures
        cast(energy_kwh as double) as energy_kwh,
        cast(kg_co2e as double) as kg_co2e,
        cast(cost as double) as cost,

        -- timestamps
        cast(month as date) as month

    from source

)

select * from renamed
