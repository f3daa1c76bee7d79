-- Every CodeCarbon run once per UTC day it ran in, with the Slurm job it ran
-- inside (methodology.md section 2a): a job of the same AI system, with GPUs,
-- that started before the run and ended after it (a minute's slack for clocks);
-- of several, the latest to start. A matched run's energy is that job's
-- CodeCarbon measurement for those hours; an unmatched run is its own
-- workload. Energy and GPU-hours are split by the run's seconds in each day.
-- device_overlap_gpu_hours: the device-hours (DCGM, nvidia-smi) matched to the
-- same job inside the run's span that day - the same GPU-hours measured twice,
-- which the precedence step leaves to the device.
with

runs as (

    select * from {{ ref('int_codecarbon_runs_attributed') }}

),

job_days as (

    select * from {{ ref('int_slurm_job_days_clipped') }}

),

gpu_names as (

    select * from {{ ref('int_gpu_names_mapped') }}

),

device_parts as (

    select * from {{ ref('int_gpu_device_hours_matched') }}
    where workload_type = 'slurm_job'

),

jobs as (

    select distinct
        job_key,
        system_id,
        gpu_count,
        started_at,
        span_end_at
    from job_days
    where gpu_count > 0

),

candidates as (

    select
        runs.run_id,
        jobs.job_key,
        jobs.gpu_count as job_gpu_count,
        row_number() over (partition by runs.run_id order by jobs.started_at desc, jobs.job_key asc) as match_rank
    from runs
    inner join jobs
        on
            runs.system_id = jobs.system_id
            and runs.system_id != 'unattributed'
            and jobs.started_at <= {{ dbt.dateadd('second', 60, 'runs.started_at') }}
            and jobs.span_end_at >= {{ dbt.dateadd('second', -60, 'runs.ended_at') }}

),

spans as (

    select
        runs.*,
        candidates.job_key,
        candidates.job_gpu_count,
        -- a run of zero seconds still holds its energy: give it one second
        least(runs.started_at, {{ dbt.dateadd('second', -1, 'runs.ended_at') }}) as span_start_at
    from runs
    left join candidates
        on
            runs.run_id = candidates.run_id
            and candidates.match_rank = 1

),

run_days as (

    {{ rows_per_day('spans', 'span_start_at', 'ended_at') }}

),

run_day_overlaps as (

    select
        *,
        {{ dbt.datediff(
            'greatest(span_start_at, cast(usage_date as timestamp))',
            'least(ended_at, ' ~ dbt.dateadd('day', 1, 'cast(usage_date as timestamp)') ~ ')',
            'second'
        ) | trim }} as seconds_in_day,
        {{ dbt.datediff('span_start_at', 'ended_at', 'second') | trim }} as span_seconds
    from run_days

),

device_overlaps as (

    select
        run_day_overlaps.run_id,
        run_day_overlaps.usage_date,
        sum(
            device_parts.gpu_hours
            * {{ dbt.datediff(
                'greatest(device_parts.hour_start_at, run_day_overlaps.span_start_at)',
                'least(' ~ dbt.dateadd('hour', 1, 'device_parts.hour_start_at') ~ ', run_day_overlaps.ended_at)',
                'second'
            ) | trim }} / 3600.0
        ) as device_overlap_gpu_hours
    from run_day_overlaps
    inner join device_parts
        on
            run_day_overlaps.job_key = device_parts.workload_id
            and run_day_overlaps.usage_date = device_parts.usage_date
            and run_day_overlaps.ended_at > device_parts.hour_start_at
            and run_day_overlaps.span_start_at < {{ dbt.dateadd('hour', 1, 'device_parts.hour_start_at') }}
    group by run_day_overlaps.run_id, run_day_overlaps.usage_date

),

final as (

    select
        run_day_overlaps.run_id || ':' || cast(run_day_overlaps.usage_date as {{ dbt.type_string() }}) as run_day_id,
        run_day_overlaps.run_id,
        run_day_overlaps.usage_date,
        run_day_overlaps.job_key,
        case when run_day_overlaps.job_key is not null then 'slurm_job' else 'codecarbon_run' end as workload_type,
        coalesce(run_day_overlaps.job_key, run_day_overlaps.run_id) as workload_id,
        run_day_overlaps.project_name,
        run_day_overlaps.experiment_id,
        run_day_overlaps.system_id,
        run_day_overlaps.system_kind,
        run_day_overlaps.is_on_cloud,
        run_day_overlaps.cloud_provider,
        run_day_overlaps.cloud_region,
        gpu_names.gpu_model,
        run_day_overlaps.started_at,
        run_day_overlaps.ended_at,
        run_day_overlaps.seconds_in_day,
        cast(run_day_overlaps.seconds_in_day as {{ type_double() }}) / run_day_overlaps.span_seconds as share_of_run,
        coalesce(run_day_overlaps.gpu_count, run_day_overlaps.job_gpu_count, 0)
        * run_day_overlaps.seconds_in_day / 3600.0 as gpu_hours,
        run_day_overlaps.energy_kwh * run_day_overlaps.seconds_in_day / run_day_overlaps.span_seconds as energy_kwh,
        coalesce(device_overlaps.device_overlap_gpu_hours, 0) as device_overlap_gpu_hours
    from run_day_overlaps
    left join gpu_names
        on run_day_overlaps.gpu_name = gpu_names.gpu_name
    left join device_overlaps
        on
            run_day_overlaps.run_id = device_overlaps.run_id
            and run_day_overlaps.usage_date = device_overlaps.usage_date

)

select * from final
