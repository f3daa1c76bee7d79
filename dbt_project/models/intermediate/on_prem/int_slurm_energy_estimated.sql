-- IT energy of every Slurm job-day (methodology.md section 2), one tier each:
--   measured   ConsumedEnergyRaw (kWh, clipped to the month) when > 0 and
--              plausible: at most var max_gpu_power_w per allocated GPU-hour
--              (an absurd meter reading falls back to the estimate, the reason
--              kept in measured_rejected_reason);
--   estimated  GPU-hours x W / 1000, W = the cluster's configured gpu_power_w,
--              else idle + u x (max - idle) of the GPU model, u = the cluster's
--              gpu_utilisation, else the config's gpu_utilisation_default.
-- GPU model: the typed gres/gpu:<type>, else the partition's, else the cluster's.
with

job_days as (

    select * from {{ ref('int_slurm_job_days_clipped') }}

),

clusters as (

    select * from {{ ref('stg_org__clusters') }}

),

cluster_partitions as (

    select * from {{ ref('stg_org__cluster_partitions') }}

),

gpu_power as (

    select * from {{ ref('gpu_power') }}

),

settings as (

    select * from {{ ref('int_settings_pivoted') }}

),

resolved as (

    select
        job_days.*,
        clusters.site_id,
        case
            when job_days.gpu_count > 0
                then coalesce(
                        typed_power.gpu_model,
                        cluster_partitions.gpu_model,
                        clusters.gpu_model,
                        upper(job_days.gpu_type)
                    )
        end as gpu_model,
        clusters.gpu_power_w as configured_gpu_power_w,
        coalesce(clusters.gpu_utilisation, settings.gpu_utilisation_default) as gpu_utilisation
    from job_days
    cross join settings
    left join clusters
        on job_days.cluster = clusters.cluster
    left join cluster_partitions
        on
            job_days.cluster = cluster_partitions.cluster
            and job_days.partition_name = cluster_partitions.partition_name
    -- a typed gres name counts only when it names a model the seed knows
    left join gpu_power as typed_power
        on upper(job_days.gpu_type) = typed_power.gpu_model

),

powered as (

    select
        resolved.*,
        {{ gpu_power_w(
            'resolved.configured_gpu_power_w', 'resolved.gpu_utilisation', 'gpu_power.idle_w', 'gpu_power.max_w'
        ) }} as gpu_power_w,
        case when resolved.configured_gpu_power_w is not null then 'configured' else 'power_model' end
            as power_basis
    from resolved
    left join gpu_power
        on resolved.gpu_model = gpu_power.gpu_model

),

checked as (

    select
        *,
        case
            when
                measured_kwh > 0 and gpu_count > 0 and gpu_hours > 0
                and measured_kwh * 1000 / gpu_hours > {{ var('max_gpu_power_w') }}
                then
                    'ConsumedEnergyRaw implies '
                    || cast(
                        cast(round(measured_kwh * 1000 / gpu_hours) as {{ dbt.type_bigint() }})
                        as {{ dbt.type_string() }}
                    )
                    || ' W per allocated GPU, more than {{ var("max_gpu_power_w") }} W: estimated instead'
        end as measured_rejected_reason
    from powered

),

estimated as (

    select
        *,
        gpu_hours * gpu_power_w / 1000 as estimated_kwh,
        case
            when measured_kwh > 0 and measured_rejected_reason is null then measured_kwh
            else coalesce(gpu_hours * gpu_power_w / 1000, 0)
        end as it_kwh,
        case when measured_kwh > 0 and measured_rejected_reason is null then 'measured' else 'estimated' end
            as tier,
        case when gpu_count > 0 then 'gpu' else 'cpu' end as activity
    from checked

)

select * from estimated
