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
        cast(system_id as {{ dbt.type_string() }}) as system_id,
        cast(emission_category as {{ dbt.type_string() }}) as emission_category,
        cast(activity as {{ dbt.type_string() }}) as activity,
        cast(ghg_scope as integer) as ghg_scope,
        cast(scope3_category as integer) as scope3_category,
        cast(method as {{ dbt.type_string() }}) as method,
        cast(tier as {{ dbt.type_string() }}) as tier,
        cast(accounting_basis as {{ dbt.type_string() }}) as accounting_basis,
        cast(source as {{ dbt.type_string() }}) as source,
        cast(provider as {{ dbt.type_string() }}) as provider,
        cast(region_code as {{ dbt.type_string() }}) as region_code,
        cast(site_id as {{ dbt.type_string() }}) as site_id,
        cast(factor_set as {{ dbt.type_string() }}) as factor_set,
        cast(factor_year as integer) as factor_year,
        cast(methodology_version as {{ dbt.type_string() }}) as methodology_version,

        -- measures
        cast(energy_kwh as {{ type_double() }}) as energy_kwh,
        cast(kg_co2e as {{ type_double() }}) as kg_co2e,
        cast(cost as {{ type_double() }}) as cost,

        -- timestamps
        cast(month as date) as month

    from source

)

select * from renamed
