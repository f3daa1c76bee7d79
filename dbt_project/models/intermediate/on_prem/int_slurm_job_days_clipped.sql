-- Every Slurm job once per UTC day it ran in, its GPU-hours and metered
-- energy clipped to the day (methodology.md section 2):
--   GPU-hours = untyped gres/gpu count x ElapsedRaw / 3600 x the share of
--   [Start, End) inside the day.
-- A running job (End = Unknown) ends, so far, at Start + ElapsedRaw. Jobs of
-- every state count: failed, cancelled and timed-out runs used the GPUs too.
-- Days, not months: the GPU-usage fact is daily, and device-level measurements
-- (DCGM, nvidia-smi) replace a job's estimate hour by hour.
with

jobs as (

    select * from {{ ref('int_slurm_jobs_attributed') }}

),

spans as (

    select
        *,
        coalesce(
            ended_at, {{ dbt.dateadd('second', 'coalesce(elapsed_seconds, 0)', 'started_at') }}
        ) as span_end_at
    from jobs
    where started_at is not null

),

job_days as (

    {{ rows_per_day('spans', 'started_at', 'span_end_at') }}

),

job_day_bounds as (

    select
        *,
        greatest(started_at, cast(usage_date as timestamp)) as overlap_start_at,
        least(span_end_at, {{ dbt.dateadd('day', 1, 'cast(usage_date as timestamp)') }}) as overlap_end_at
    from job_days

),

job_day_overlaps as (

    select
        *,
        {{ dbt.datediff('overlap_start_at', 'overlap_end_at', 'second') | trim }} as seconds_in_day,
        {{ dbt.datediff('started_at', 'span_end_at', 'second') | trim }} as span_seconds
    from job_day_bounds

),

clipped as (

    select
        job_key || ':' || cast(usage_date as {{ dbt.type_string() }}) as job_day_id,
        job_key,
        cluster,
        job_id,
        base_job_id,
        job_name,
        user_name,
        account,
        partition_name,
        state,
        state_raw,
        gpu_type,
        gpu_count,
        node_list,
        system_id,
        system_kind,
        usage_date,
        cast({{ dbt.date_trunc('month', 'usage_date') }} as date) as month,
        started_at,
        ended_at,
        span_end_at,
        overlap_start_at,
        overlap_end_at,
        elapsed_seconds,
        seconds_in_day,
        cast(seconds_in_day as {{ type_double() }}) / span_seconds as share_of_job,
        gpu_count * coalesce(elapsed_seconds, span_seconds) / 3600.0
        * seconds_in_day / span_seconds as gpu_hours,
        consumed_energy_kwh * seconds_in_day / span_seconds as measured_kwh
    from job_day_overlaps

)

select * from clipped
