with

source as (

    {{ landing_source('org', 'systems') }}

),

renamed as (

    select
        -- ids
        system_id,

        -- dimensions
        name as system_name,
        kind as system_kind,
        owner,
        description

    from source

)

select * from renamed
