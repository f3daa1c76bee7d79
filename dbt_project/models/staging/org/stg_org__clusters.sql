with

source as (

    {{ landing_source('org', 'clusters') }}

),

renamed as (

    select
        -- ids
        cluster,
        site_id,

        -- dimensions
        upper(trim(gpu_model)) as gpu_model,

        -- measures
        cast(gpu_power_w as {{ type_double() }}) as gpu_power_w,
        cast(gpu_utilisation as {{ type_double() }}) as gpu_utilisation

    from source

)

select * from renamed
