with

source as (

    {{ landing_source('slurm', 'jobs') }}

),

renamed as (

    select
        -- ids
        cluster || ':' || "JobID" as job_key,
        cluster,
        "JobID" as job_id,
        {{ regex_extract('"JobID"', '^([0-9]+)', 1) }} as base_job_id,
        cast({{ regex_extract('"JobID"', '^[0-9]+_([0-9]+)', 1) }} as integer) as array_task_id,
        cast({{ regex_extract('"JobID"', '^[0-9]+\\+([0-9]+)', 1) }} as integer) as het_component,
        {{ regex_extract('"JobID"', '\\.([A-Za-z0-9_]+)$', 1) }} as step_name,

        -- dimensions
        "JobName" as job_name,
        "User" as user_name,
        "Account" as account,
        "Partition" as partition_name,
        -- `CANCELLED by 1234` is CANCELLED; the raw state keeps who cancelled
        upper({{ dbt.split_part('trim("State")', "' '", 1) }}) as state,
        "State" as state_raw,
        "AllocTRES" as alloc_tres,
        -- AllocTRES lists the GPU count twice: typed (gres/gpu:a100=8) and
        -- untyped (gres/gpu=8). Count the untyped one; take the type from the other.
        {{ regex_extract('"AllocTRES"', 'gres/gpu:([^=,]+)=', 1) }} as gpu_type,
        "NodeList" as node_list,
        _source_file as source_file,
        _line_number as source_line_number,
        month as landed_month,

        -- measures
        coalesce(cast({{ regex_extract('"AllocTRES"', '(^|,)gres/gpu=([0-9]+)', 2) }} as integer), 0) as gpu_count,
        {{ try_cast('"ElapsedRaw"', 'bigint') }} as elapsed_seconds,
        -- joules -> kWh; 0 or empty means not metered
        {{ try_cast('"ConsumedEnergyRaw"', 'double') }} / 3600000.0
            as consumed_energy_kwh,

        -- timestamps (`Unknown` while running, or before a pending job starts)
        {{ try_cast('"Start"', 'timestamp') }} as started_at,
        {{ try_cast('"End"', 'timestamp') }} as ended_at

    from source

),

deduplicated as (

    -- a job overlapping several months is in each month's sacct file; the
    -- latest file knows most (final state and end time)
    {{ deduplicate('renamed', 'job_key', 'landed_month desc, source_line_number desc') }}

)

select * from deduplicated
