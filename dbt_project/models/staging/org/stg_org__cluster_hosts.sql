with

source as (

    {{ landing_source('org', 'cluster_hosts') }}

),

renamed as (

    select
        -- ids
        cluster,

        -- dimensions
        like_pattern

    from source

)

select * from renamed
