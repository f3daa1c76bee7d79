with

source as (

    {{ landing_source('nvidia_smi', 'samples') }}

),

renamed as (

    select
        -- ids
        {{ surrogate_key(['hour', 'hostname', 'uuid']) }} as nvidia_smi_gpu_hour_id,
        uuid as gpu_uuid,

        -- dimensions
        hostname,
        gpu_name,
        _source_file as source_file,
        month as landed_month,

        -- measures
        -- mJ -> kWh: 1 kWh = 3.6e9 mJ
        coalesce(energy_mj / 3600000000.0, 0) as energy_kwh,
        least(3600.0, coalesce(seconds_covered, 0)) / 3600.0 as gpu_hours,
        seconds_covered,
        avg_power_w,
        avg_util_pct / 100.0 as gpu_utilisation,
        samples,

        -- timestamps
        cast(hour as timestamp) as hour_start_at,
        cast(cast(hour as timestamp) as date) as usage_date

    from source

)

select * from renamed
