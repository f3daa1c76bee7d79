with

source as (

    {{ landing_source('dcgm', 'gpu_hours') }}

),

renamed as (

    select
        -- ids
        {{ surrogate_key(['hour', 'uuid', 'hostname', 'gpu', 'pod', 'namespace', 'container', 'hpc_job']) }}
            as dcgm_gpu_hour_id,
        uuid as gpu_uuid,

        -- dimensions
        hostname,
        gpu as gpu_index,
        model_name as gpu_name,
        nullif(pod, '') as pod,
        nullif(namespace, '') as namespace,
        nullif(container, '') as container,
        nullif(hpc_job, '') as hpc_job,
        _source_file as source_file,
        month as landed_month,
        -- the counter's increase is the measurement; power samples fill hours
        -- the counter does not cover (docs/data-contract.md)
        case when energy_mj is not null then 'energy_counter' else 'power_samples' end as energy_basis,

        -- measures
        -- mJ -> kWh: 1 kWh = 3.6e6 J = 3.6e9 mJ
        energy_mj / 3600000000.0 as counter_kwh,
        -- W x s = J -> kWh
        avg_power_w * samples * step_seconds / 3600000.0 as power_samples_kwh,
        coalesce(energy_mj / 3600000000.0, avg_power_w * samples * step_seconds / 3600000.0, 0) as energy_kwh,
        -- GPU-hours observed: the counter's seconds, else the sampled seconds
        least(
            3600.0,
            case when energy_mj is not null then seconds_covered else coalesce(samples * step_seconds, 0) end
        ) / 3600.0 as gpu_hours,
        seconds_covered,
        avg_power_w,
        avg_util_pct / 100.0 as gpu_utilisation,
        samples,
        step_seconds,

        -- timestamps
        cast(hour as timestamp) as hour_start_at,
        cast(cast(hour as timestamp) as date) as usage_date

    from source

)

select * from renamed
