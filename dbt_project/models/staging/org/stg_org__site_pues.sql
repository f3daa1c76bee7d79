with

source as (

    {{ landing_source('org', 'site_pue') }}

),

renamed as (

    select
        -- ids
        site_id,

        -- measures
        cast(pue as {{ type_double() }}) as pue,

        -- timestamps
        cast(valid_from as date) as valid_from,
        cast(valid_to as date) as valid_to

    from source

)

select * from renamed
