with

source as (

    {{ landing_source('opencost', 'allocations') }}

),

renamed as (

    select
        -- ids
        {{ surrogate_key(['window_start', 'window_end', 'cluster', 'node', 'name']) }} as allocation_id,

        -- dimensions
        name as allocation_name,
        cluster,
        node,
        namespace,
        pod,
        -- OpenCost's own rows: capacity no pod requested, and usage it could
        -- not assign to the aggregation (both kept, never dropped)
        name = '__idle__' as is_idle_capacity,
        name = '__unallocated__' as is_unallocated,
        {{ key_value_list_to_map('labels') }} as labels,
        _source_file as source_file,
        month as landed_month,

        -- measures
        gpu_count,
        coalesce(gpu_hours, 0) as gpu_hours,
        gpu_cost,
        cpu_core_hours,
        -- bytes -> GiB
        ram_byte_hours / 1073741824.0 as ram_gib_hours,
        total_cost,

        -- timestamps
        cast(window_start as timestamp) as window_start_at,
        cast(window_end as timestamp) as window_end_at,
        cast(cast(window_start as timestamp) as date) as usage_date

    from source

)

select * from renamed
