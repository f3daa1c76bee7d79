{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='month',
        on_schema_change='append_new_columns',
        post_hook="{{ delete_rows_of_other_inputs(telemetry_monthly_sources() + ['slurm.jobs']) }}",
    )
}}
-- Every device-hour (not superseded) assigned to the workload that held the
-- GPU (methodology.md section 2a), so that its measured energy replaces that
-- workload's estimate for those hours instead of adding to it:
--   1. the DCGM `hpc_job` label names a Slurm job (same JobID; on the host's
--      cluster when it is known; the job whose span holds the hour first);
--   2. else, for a device without a pod, the host and the time: the Slurm GPU
--      jobs whose node list names the host during the hour share it by their
--      seconds in the hour (at most the whole hour; the rest of the hour is
--      the cluster's idle capacity);
--   3. else a Kubernetes pod label: the pod (namespace/pod);
--   4. else a job label Slurm does not know: that job, as its own workload;
--   5. else idle capacity of the host's cluster (a GPU no job or pod held);
--   6. else the device itself (host of no configured cluster).
-- A device-hour may be split in parts (rule 2); the parts' fractions sum to 1.
--
-- Incremental by month (macros/incremental_telemetry.sql): a run recomputes
-- the months whose device-hours were recomputed or whose claiming Slurm jobs
-- (overlapping the month's hours, or named by one of its labels) changed,
-- and every month when anything else it reads changed.
{%- set monthly = monthly_state(
    device_hour_job_fingerprints(ref('int_gpu_device_hours_unioned'), ref('int_slurm_job_days_clipped')),
    telemetry_monthly_sources() + ['slurm.jobs'],
    rows_need_monthly_input=true,
) %}

with

devices as (

    select * from {{ ref('int_gpu_device_hours_unioned') }}
    where not is_superseded {{ months_filter('month', monthly, 'and') }}

),

job_days as (

    select * from {{ ref('int_slurm_job_days_clipped') }}

),

jobs as (

    -- the columns the months' jobs fingerprints hash (macros/incremental_telemetry.sql)
    select distinct
        {{ claiming_job_columns() | join(',\n        ') }}
    from job_days

),

hours as (

    select
        *,
        {{ dbt.dateadd('hour', 1, 'hour_start_at') }} as hour_end_at
    from devices

),

label_candidates as (

    select
        hours.device_hour_id,
        jobs.job_key,
        row_number() over (
            partition by hours.device_hour_id
            order by
                case
                    when jobs.started_at < hours.hour_end_at and jobs.span_end_at > hours.hour_start_at then 0 else 1
                end,
                abs({{ dbt.datediff('jobs.started_at', 'hours.hour_start_at', 'second') }}),
                jobs.job_key
        ) as match_rank
    from hours
    inner join jobs
        on
            hours.hpc_job = jobs.job_id
            and (hours.host_cluster is null or hours.host_cluster = jobs.cluster)
    where hours.hpc_job is not null

),

label_matches as (

    select
        device_hour_id,
        job_key,
        1.0 as fraction,
        'hpc_job_label' as match_basis
    from label_candidates
    where match_rank = 1

),

host_candidates as (

    select
        hours.device_hour_id,
        jobs.job_key,
        {{ dbt.datediff(
            'greatest(hours.hour_start_at, jobs.started_at)', 'least(hours.hour_end_at, jobs.span_end_at)', 'second'
        ) }} as overlap_seconds
    from hours
    inner join jobs
        on
            (hours.host_cluster is null or hours.host_cluster = jobs.cluster)
            and jobs.gpu_count > 0
            and hours.hour_end_at > jobs.started_at
            and hours.hour_start_at < jobs.span_end_at
            and {{ hostlist_contains('jobs.node_list', 'hours.short_hostname') }}
    where
        hours.pod is null
        and hours.device_hour_id not in (select label_matches.device_hour_id from label_matches)

),

host_matches as (

    select
        device_hour_id,
        job_key,
        -- jobs sharing the host in the hour share the device-hour by their
        -- seconds in it, never more than the whole hour
        overlap_seconds / greatest(3600.0, sum(overlap_seconds) over (partition by device_hour_id)) as fraction,
        'host_and_time' as match_basis
    from host_candidates
    where overlap_seconds > 0

),

job_matches as (

    select * from label_matches
    union all
    select * from host_matches

),

matched_fractions as (

    select
        device_hour_id,
        sum(fraction) as matched_fraction
    from job_matches
    group by device_hour_id

),

job_parts as (

    select
        hours.*,
        'slurm_job' as workload_type,
        job_matches.job_key as workload_id,
        job_matches.fraction,
        job_matches.match_basis
    from hours
    inner join job_matches
        on hours.device_hour_id = job_matches.device_hour_id

),

rest_parts as (

    select
        hours.*,
        case
            when hours.pod is not null then 'k8s_pod'
            when hours.hpc_job is not null then 'hpc_job'
            when hours.host_cluster is not null then 'gpu_idle_capacity'
            else 'gpu_device'
        end as workload_type,
        case
            when hours.pod is not null then coalesce(hours.namespace, '') || '/' || hours.pod
            when hours.hpc_job is not null then coalesce(hours.host_cluster, hours.hostname) || ':' || hours.hpc_job
            when hours.host_cluster is not null then hours.host_cluster
            else hours.hostname || ':' || hours.gpu_uuid
        end as workload_id,
        1 - coalesce(matched_fractions.matched_fraction, 0) as fraction,
        case
            when hours.pod is not null then 'k8s_pod_label'
            when hours.hpc_job is not null then 'unknown_hpc_job'
            when hours.host_cluster is not null then 'no_job_on_host'
            else 'unmatched'
        end as match_basis
    from hours
    left join matched_fractions
        on hours.device_hour_id = matched_fractions.device_hour_id
    where coalesce(matched_fractions.matched_fraction, 0) < 1 - 1e-9

),

parts as (

    select * from job_parts
    union all
    select * from rest_parts

),

final as (

    select
        device_hour_id || ':' || workload_type || ':' || workload_id as device_part_id,
        device_hour_id,
        source,
        workload_type,
        workload_id,
        match_basis,
        gpu_uuid,
        hostname,
        host_cluster,
        gpu_model,
        pod,
        namespace,
        hpc_job,
        hour_start_at,
        usage_date,
        energy_basis,
        gpu_utilisation,
        fraction,
        gpu_hours * fraction as gpu_hours,
        energy_kwh * fraction as energy_kwh,
        month,
        {{ monthly_state_columns('month', monthly) }}
    from parts

)

select * from final
