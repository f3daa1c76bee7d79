with

source as (

    {{ landing_source('org', 'hardware') }}

),

renamed as (

    select
        -- ids
        hardware_id,
        site_id,

        -- dimensions
        server_model,
        upper(trim(gpu_model)) as gpu_model,

        -- measures
        cast(gpus_per_server as integer) as gpus_per_server,
        cast(servers as integer) as servers,
        cast(lifetime_years as {{ type_double() }}) as lifetime_years,
        cast(use_share as {{ type_double() }}) as use_share,

        -- timestamps
        cast(acquired_on as date) as acquired_on

    from source

)

select * from renamed
