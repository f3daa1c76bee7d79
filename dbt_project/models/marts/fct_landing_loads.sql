-- The landing zone's load ledger: what was extracted, when, and whether the
-- source had changed. Reports take their data_as_of from it.
with

loads as (

    select * from {{ ref('stg_landing__loads') }}

),

final as (

    select
        cast(load_id as {{ dbt.type_string() }}) as load_id,
        cast(landing_source as {{ dbt.type_string() }}) as landing_source,
        cast(landing_dataset as {{ dbt.type_string() }}) as landing_dataset,
        cast(partition_key as {{ dbt.type_string() }}) as partition_key,
        cast(status as {{ dbt.type_string() }}) as status,
        cast(row_count as bigint) as row_count,
        cast(checksum as {{ dbt.type_string() }}) as checksum,
        cast(landed_file as {{ dbt.type_string() }}) as landed_file,
        cast(loaded_at as timestamp) as loaded_at
    from loads

)

select * from final
