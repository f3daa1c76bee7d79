-- One row per workload x UTC day with everything the precedence step
-- (int_gpu_usage_deduplicated) weighs: the GPU-hours the workload held by its
-- allocation (Slurm job, Kubernetes pod, OpenCost idle capacity, CodeCarbon run)
-- and the power model's draw for them; Slurm's metered energy; and the
-- measurements matched to it - DCGM and nvidia-smi device-hours, CodeCarbon
-- runs. A workload only a device saw (a pod OpenCost does not report, an idle
-- GPU) holds no allocation: its measured hours are all it has.
with

slurm_job_days as (

    select * from {{ ref('int_slurm_energy_estimated') }}
    where gpu_count > 0

),

allocations as (

    select * from {{ ref('stg_opencost__allocations') }}

),

device_parts as (

    select * from {{ ref('int_gpu_device_hours_matched') }}

),

codecarbon_days as (

    select * from {{ ref('int_codecarbon_run_days_matched') }}

),

slurm_jobs as (

    select * from {{ ref('int_slurm_jobs_attributed') }}

),

codecarbon_runs as (

    select distinct
        run_id,
        system_id,
        system_kind,
        project_name
    from codecarbon_days

),

pods as (

    select * from {{ ref('int_k8s_pods_attributed') }}

),

clusters as (

    select * from {{ ref('stg_org__clusters') }}

),

gpu_power as (

    select * from {{ ref('gpu_power') }}

),

settings as (

    select * from {{ ref('int_settings_pivoted') }}

),

-- allocations -----------------------------------------------------------------

slurm_allocations as (

    select
        'slurm_job' as workload_type,
        job_key as workload_id,
        usage_date,
        'slurm' as allocation_source,
        cluster,
        gpu_model,
        gpu_power_w,
        power_basis,
        gpu_hours as allocation_gpu_hours,
        case when measured_kwh > 0 then measured_kwh else 0 end as meter_kwh
    from slurm_job_days

),

allocation_workloads as (

    select
        *,
        case when is_idle_capacity then 'gpu_idle_capacity' else 'k8s_pod' end as workload_type,
        case
            when is_idle_capacity then cluster
            when is_unallocated then cluster || '/__unallocated__'
            else coalesce(namespace, '') || '/' || pod
        end as workload_id
    from allocations
    where gpu_hours > 0

),

opencost_allocations as (

    select
        workload_type,
        workload_id,
        usage_date,
        'opencost' as allocation_source,
        min(cluster) as cluster,
        cast(null as {{ dbt.type_string() }}) as gpu_model,
        cast(null as {{ type_double() }}) as gpu_power_w,
        cast(null as {{ dbt.type_string() }}) as power_basis,
        sum(gpu_hours) as allocation_gpu_hours,
        0.0 as meter_kwh
    from allocation_workloads
    group by workload_type, workload_id, usage_date

),

codecarbon_allocations as (

    -- a run no Slurm job contains held the GPUs it tracked
    select
        'codecarbon_run' as workload_type,
        run_id as workload_id,
        usage_date,
        'codecarbon' as allocation_source,
        cast(null as {{ dbt.type_string() }}) as cluster,
        gpu_model,
        cast(null as {{ type_double() }}) as gpu_power_w,
        cast(null as {{ dbt.type_string() }}) as power_basis,
        gpu_hours as allocation_gpu_hours,
        0.0 as meter_kwh
    from codecarbon_days
    where workload_type = 'codecarbon_run'

),

allocated as (

    select * from slurm_allocations
    union all
    select * from opencost_allocations
    union all
    select * from codecarbon_allocations

),

-- measurements matched to workloads --------------------------------------------

device_measurements as (

    select
        workload_type,
        workload_id,
        usage_date,
        sum(case when source = 'dcgm' then gpu_hours else 0 end) as dcgm_gpu_hours,
        sum(case when source = 'dcgm' then energy_kwh else 0 end) as dcgm_kwh,
        sum(case when source = 'nvidia_smi' then gpu_hours else 0 end) as nvidia_smi_gpu_hours,
        sum(case when source = 'nvidia_smi' then energy_kwh else 0 end) as nvidia_smi_kwh,
        -- utilisation of the measured hours, weighted by GPU-hours
        sum(gpu_utilisation * gpu_hours) / nullif(sum(case when gpu_utilisation is not null then gpu_hours end), 0)
            as measured_gpu_utilisation,
        max(gpu_model) as measured_gpu_model,
        max(host_cluster) as host_cluster
    from device_parts
    group by workload_type, workload_id, usage_date

),

codecarbon_measurements as (

    select
        workload_type,
        workload_id,
        usage_date,
        sum(gpu_hours) as codecarbon_gpu_hours,
        sum(energy_kwh) as codecarbon_kwh,
        sum(device_overlap_gpu_hours) as codecarbon_device_overlap_gpu_hours,
        max(gpu_model) as codecarbon_gpu_model,
        bool_or(is_on_cloud) as is_on_cloud
    from codecarbon_days
    group by workload_type, workload_id, usage_date

),

workload_keys as (

    select
        workload_type,
        workload_id,
        usage_date
    from allocated
    union
    select
        workload_type,
        workload_id,
        usage_date
    from device_measurements
    union
    select
        workload_type,
        workload_id,
        usage_date
    from codecarbon_measurements

),

collected as (

    select
        workload_keys.workload_type,
        workload_keys.workload_id,
        workload_keys.usage_date,
        allocated.allocation_source,
        coalesce(
            allocated.cluster,
            slurm_jobs.cluster,
            device_measurements.host_cluster,
            case when workload_keys.workload_type = 'codecarbon_run' then settings.codecarbon_cluster end
        ) as cluster,
        coalesce(
            allocated.gpu_model, device_measurements.measured_gpu_model, codecarbon_measurements.codecarbon_gpu_model
        )
            as known_gpu_model,
        allocated.gpu_power_w as allocation_gpu_power_w,
        allocated.power_basis as allocation_power_basis,
        coalesce(allocated.allocation_gpu_hours, 0) as allocation_gpu_hours,
        coalesce(allocated.meter_kwh, 0) as meter_kwh,
        coalesce(device_measurements.dcgm_gpu_hours, 0) as dcgm_gpu_hours,
        coalesce(device_measurements.dcgm_kwh, 0) as dcgm_kwh,
        coalesce(device_measurements.nvidia_smi_gpu_hours, 0) as nvidia_smi_gpu_hours,
        coalesce(device_measurements.nvidia_smi_kwh, 0) as nvidia_smi_kwh,
        device_measurements.measured_gpu_utilisation,
        coalesce(codecarbon_measurements.codecarbon_gpu_hours, 0) as codecarbon_gpu_hours,
        coalesce(codecarbon_measurements.codecarbon_kwh, 0) as codecarbon_kwh,
        coalesce(codecarbon_measurements.codecarbon_device_overlap_gpu_hours, 0) as codecarbon_device_overlap_gpu_hours,
        coalesce(codecarbon_measurements.is_on_cloud, false) as is_codecarbon_on_cloud
    from workload_keys
    cross join settings
    left join allocated
        on
            workload_keys.workload_type = allocated.workload_type
            and workload_keys.workload_id = allocated.workload_id
            and workload_keys.usage_date = allocated.usage_date
    left join device_measurements
        on
            workload_keys.workload_type = device_measurements.workload_type
            and workload_keys.workload_id = device_measurements.workload_id
            and workload_keys.usage_date = device_measurements.usage_date
    left join codecarbon_measurements
        on
            workload_keys.workload_type = codecarbon_measurements.workload_type
            and workload_keys.workload_id = codecarbon_measurements.workload_id
            and workload_keys.usage_date = codecarbon_measurements.usage_date
    left join slurm_jobs
        on
            workload_keys.workload_type = 'slurm_job'
            and workload_keys.workload_id = slurm_jobs.job_key

),

-- who and where -----------------------------------------------------------------

described as (

    select
        collected.*,
        case
            when collected.workload_type = 'slurm_job' then slurm_jobs.system_id
            when collected.workload_type = 'k8s_pod' then coalesce(pods.system_id, 'unattributed')
            when collected.workload_type = 'codecarbon_run' then codecarbon_runs.system_id
            else 'unattributed'
        end as system_id,
        case
            when collected.workload_type = 'slurm_job' then slurm_jobs.system_kind
            when collected.workload_type = 'k8s_pod' then pods.system_kind
            when collected.workload_type = 'codecarbon_run' then codecarbon_runs.system_kind
        end as system_kind,
        case
            when collected.workload_type = 'slurm_job' then slurm_jobs.job_name
            when collected.workload_type = 'codecarbon_run' then codecarbon_runs.project_name
            else collected.workload_id
        end as workload_name,
        case when collected.workload_type = 'slurm_job' then slurm_jobs.state end as run_state,
        case when collected.workload_type = 'gpu_idle_capacity' then 'idle_capacity' else 'workload' end
            as usage_kind,
        clusters.site_id,
        coalesce(collected.known_gpu_model, clusters.gpu_model) as gpu_model,
        clusters.gpu_power_w as configured_gpu_power_w,
        coalesce(clusters.gpu_utilisation, settings.gpu_utilisation_default) as model_gpu_utilisation
    from collected
    cross join settings
    left join slurm_jobs
        on
            collected.workload_type = 'slurm_job'
            and collected.workload_id = slurm_jobs.job_key
    left join pods
        on
            collected.workload_type = 'k8s_pod'
            and collected.workload_id = pods.pod_key
    left join codecarbon_runs
        on
            collected.workload_type = 'codecarbon_run'
            and collected.workload_id = codecarbon_runs.run_id
    left join clusters
        on collected.cluster = clusters.cluster

),

powered as (

    select
        described.*,
        -- Slurm job-days bring their own draw (int_slurm_energy_estimated); the
        -- rest use the cluster's; idle capacity draws the model's idle power
        case
            when described.allocation_gpu_power_w is not null then described.allocation_gpu_power_w
            when described.usage_kind = 'idle_capacity' then gpu_power.idle_w
            else {{ gpu_power_w(
                'described.configured_gpu_power_w', 'described.model_gpu_utilisation',
                'gpu_power.idle_w', 'gpu_power.max_w'
            ) }}
        end as gpu_power_w,
        case
            when described.allocation_power_basis is not null then described.allocation_power_basis
            when described.usage_kind = 'idle_capacity' then 'idle_power'
            when described.configured_gpu_power_w is not null then 'configured'
            else 'power_model'
        end as power_basis
    from described
    left join gpu_power
        on described.gpu_model = gpu_power.gpu_model

),

final as (

    select
        workload_type || ':' || workload_id || ':' || cast(usage_date as {{ dbt.type_string() }}) as workload_day_id,
        *,
        cast({{ dbt.date_trunc('month', 'usage_date') }} as date) as month,
        dcgm_gpu_hours + nvidia_smi_gpu_hours as device_gpu_hours
    from powered

)

select * from final
