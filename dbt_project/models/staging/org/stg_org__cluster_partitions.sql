with

source as (

    {{ landing_source('org', 'cluster_partitions') }}

),

renamed as (

    select
        -- ids
        cluster,
        partition as partition_name,

        -- dimensions
        upper(trim(gpu_model)) as gpu_model

    from source

)

select * from renamed
