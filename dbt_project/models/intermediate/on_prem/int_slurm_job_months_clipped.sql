-- Every Slurm job once per calendar month it ran in, its GPU-hours and metered
-- energy clipped to the month (methodology.md section 2):
--   GPU-hours = untyped gres/gpu count x ElapsedRaw / 3600 x the share of
--   [Start, End) inside the month.
-- A running job (End = Unknown) ends, so far, at Start + ElapsedRaw. Jobs of
-- every state count: failed, cancelled and timed-out runs used the GPUs too.
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

job_months as (

    {{ rows_per_month('spans', 'started_at', 'span_end_at') }}

),

job_month_bounds as (

    select
        *,
        greatest(started_at, month_start) as overlap_start_at,
        least(span_end_at, {{ dbt.dateadd('month', 1, 'month_start') }}) as overlap_end_at
    from job_months

),

job_month_overlaps as (

    select
        *,
        {{ dbt.datediff('overlap_start_at', 'overlap_end_at', 'second') | trim }} as seconds_in_month,
        {{ dbt.datediff('started_at', 'span_end_at', 'second') | trim }} as span_seconds
    from job_month_bounds

),

clipped as (

    select
        job_key || ':' || cast(month_start as varchar) as job_month_id,
        job_key,
        cluster,
        job_id,
        job_name,
        user_name,
        account,
        partition_name,
        state,
        state_raw,
        gpu_type,
        gpu_count,
        system_id,
        system_kind,
        month_start as month,
        started_at,
        ended_at,
        elapsed_seconds,
        seconds_in_month,
        cast(seconds_in_month as double) / span_seconds as share_of_job,
        gpu_count * coalesce(elapsed_seconds, span_seconds) / 3600.0
        * seconds_in_month / span_seconds as gpu_hours,
        consumed_energy_kwh * seconds_in_month / span_seconds as measured_kwh
    from job_month_overlaps

)

select * from clipped
