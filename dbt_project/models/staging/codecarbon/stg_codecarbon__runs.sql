with

source as (

    {{ landing_source('codecarbon', 'runs') }}

),

renamed as (

    select
        -- ids
        run_id,
        experiment_id,

        -- dimensions
        project_name,
        country_iso_code,
        region,
        cloud_provider,
        cloud_region,
        upper(trim(coalesce(on_cloud, 'N'))) in ('Y', 'YES', 'TRUE', '1') as is_on_cloud,
        gpu_model as gpu_name,
        cpu_model,
        tracking_mode,
        codecarbon_version,
        _source_file as source_file,
        month as landed_month,

        -- measures (CodeCarbon's units: kWh, kgCO2e, s)
        coalesce(energy_consumed, 0) as energy_kwh,
        gpu_energy as gpu_energy_kwh,
        cpu_energy as cpu_energy_kwh,
        ram_energy as ram_energy_kwh,
        emissions as codecarbon_kg_co2e,
        duration as duration_seconds,
        cast(gpu_count as integer) as gpu_count,
        pue as codecarbon_pue,

        -- timestamps: the row is written at the end of what it tracked
        {{ dbt.dateadd('millisecond', 'cast(-duration * 1000 as bigint)', 'cast(timestamp as timestamp)') }}
            as started_at,
        cast(timestamp as timestamp) as ended_at

    from source

),

deduplicated as (

    -- a run flushed several times writes cumulative rows: the last one holds the whole run
    {{ deduplicate('renamed', 'run_id', 'ended_at desc, landed_month desc') }}

)

select * from deduplicated
