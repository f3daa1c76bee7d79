with

source as (

    {{ landing_source('landing', 'loads') }}

),

renamed as (

    select
        -- ids
        load_id,

        -- dimensions
        source as landing_source,
        dataset as landing_dataset,
        partition as partition_key,
        files as source_files,
        checksum,
        landed_file,
        status,

        -- measures
        cast(rows as bigint) as row_count,

        -- timestamps
        cast(loaded_at as timestamp) as loaded_at

    from source

)

select * from renamed
