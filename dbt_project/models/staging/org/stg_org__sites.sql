with

source as (

    {{ landing_source('org', 'sites') }}

),

renamed as (

    select
        -- ids
        site_id,

        -- dimensions
        name as site_name,
        upper(trim(grid_zone)) as grid_zone,
        upper(trim(country)) as country

    from source

)

select * from renamed
