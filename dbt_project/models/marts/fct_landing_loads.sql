-- The landing zone's load ledger: what was extracted, when, and whether the
-- source had changed. Reports take their data_as_of from it.
with

loads as (

    select * from {{ ref('stg_landing__loads') }}

),

final as (

    select
        cast(load_id as varchar) as load_id,
        cast(landing_source as varchar) as landing_source,
        cast(landing_dataset as varchar) as landing_dataset,
        cast(partition_key as varchar) as partition_key,
        cast(status as varchar) as status,
        cast(row_count as bigint) as row_count,
        cast(checksum as varchar) as checksum,
        cast(landed_file as varchar) as landed_file,
        cast(loaded_at as timestamp) as loaded_at
    from loads

)

select * from final
