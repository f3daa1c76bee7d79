with

source as (

    {{ landing_source('org', 'settings') }}

),

renamed as (

    select
        -- ids
        key as setting_key,

        -- dimensions
        value as setting_value

    from source

)

select * from renamed
