with

source as (

    {{ landing_source('disclosures', 'annual_disclosure', disclosure_contract()) }}

),

renamed as (

    select
        -- ids
        cast(year as integer) as year,
        cast(disclosure_version as integer) as disclosure_version,
        cast(ghg_scope as integer) as ghg_scope,
        cast(scope3_category as integer) as scope3_category,

        -- dimensions
        cast(factor_sets as {{ dbt.type_string() }}) as factor_sets,
        cast(methodology_version as {{ dbt.type_string() }}) as methodology_version,

        -- measures
        cast(location_based_tco2e as {{ type_double() }}) as location_based_tco2e,
        cast(market_based_tco2e as {{ type_double() }}) as market_based_tco2e,
        cast(ai_attributed_location_based_tco2e as {{ type_double() }}) as ai_attributed_location_based_tco2e,
        cast(ai_attributed_market_based_tco2e as {{ type_double() }}) as ai_attributed_market_based_tco2e,

        -- timestamps
        cast(frozen_at as timestamp) as frozen_at,
        cast(data_as_of as timestamp) as data_as_of

    from source

)

select * from renamed
