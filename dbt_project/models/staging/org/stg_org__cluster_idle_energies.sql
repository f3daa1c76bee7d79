with

source as (

    {{ landing_source('org', 'cluster_idle_energy') }}

),

renamed as (

    select
        -- ids
        cluster || ':' || cast(cast(valid_from as date) as {{ dbt.type_string() }}) as cluster_idle_energy_id,
        cluster,

        -- dimensions
        source as meter_source,
        lower(coalesce(metered_at, 'it')) as metered_at,

        -- measures
        cast(kwh as {{ type_double() }}) as kwh,

        -- timestamps
        cast(valid_from as date) as valid_from,
        cast(valid_to as date) as valid_to

    from source

)

select * from renamed
