-- Accelerator use per system, job or cloud resource, month and GPU model:
-- GPU-hours and their IT energy, with the run state of Slurm jobs (failed and
-- cancelled runs included: they used the GPUs too).
with

slurm_jobs as (

    select * from {{ ref('int_slurm_energy_estimated') }}
    where gpu_count > 0

),

cloud_parts as (

    select * from {{ ref('int_cloud_energy_estimated') }}
    where activity = 'gpu'

),

slurm_usage as (

    select
        'slurm' as source,
        'on_prem' as provider,
        site_id,
        cast(null as varchar) as region_code,
        cluster,
        job_key as resource_id,
        job_name as resource_name,
        state as run_state,
        system_id,
        month,
        gpu_model,
        gpu_hours,
        it_kwh,
        tier
    from slurm_jobs

),

cloud_usage as (

    select
        source,
        provider,
        cast(null as varchar) as site_id,
        region_code,
        cast(null as varchar) as cluster,
        -- the instance, or the account / project when the export names no resource
        coalesce(resource_id, account_id) as resource_id,
        max(instance_type) as resource_name,
        cast(null as varchar) as run_state,
        system_id,
        month,
        gpu_model,
        sum(gpu_hours) as gpu_hours,
        sum(it_kwh) as it_kwh,
        tier
    from cloud_parts
    group by source, provider, region_code, coalesce(resource_id, account_id), system_id, month, gpu_model, tier

),

unioned as (

    select * from slurm_usage
    union all
    select * from cloud_usage

),

final as (

    select
        cast(
            {{ surrogate_key(['source', 'provider', 'resource_id', 'month', 'gpu_model', 'system_id', 'tier']) }}
            as varchar
        ) as gpu_usage_id,
        cast(month as date) as month,
        cast(system_id as varchar) as system_id,
        cast(source as varchar) as source,
        cast(provider as varchar) as provider,
        cast(site_id as varchar) as site_id,
        cast(region_code as varchar) as region_code,
        cast(cluster as varchar) as cluster,
        cast(resource_id as varchar) as resource_id,
        cast(resource_name as varchar) as resource_name,
        cast(run_state as varchar) as run_state,
        cast(gpu_model as varchar) as gpu_model,
        cast(gpu_hours as double) as gpu_hours,
        cast(it_kwh as double) as it_kwh,
        cast(tier as varchar) as tier
    from unioned

)

select * from final
