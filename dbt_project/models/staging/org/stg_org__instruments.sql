with

source as (

    {{ landing_source('org', 'instruments') }}

),

renamed as (

    select
        -- ids
        instrument_id,
        site_id,

        -- dimensions
        kind as instrument_kind,

        -- measures
        cast(mwh as {{ type_double() }}) as mwh,
        cast(kg_co2e_per_kwh as {{ type_double() }}) as kg_co2e_per_kwh,

        -- timestamps
        cast(valid_from as date) as valid_from,
        cast(valid_to as date) as valid_to

    from source

)

select * from renamed
