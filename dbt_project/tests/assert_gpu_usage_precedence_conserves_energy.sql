-- The precedence step neither creates nor loses energy: per source, the
-- energy measured (DCGM, nvidia-smi, Slurm's meter on GPU jobs, CodeCarbon)
-- equals the energy of its rows out of int_gpu_usage_deduplicated, counted
-- or superseded. A row here names the source whose energy went astray.
with

usage as (

    select * from {{ ref('int_gpu_usage_deduplicated') }}

),

energy_in as (

    select
        'dcgm' as source,
        sum(energy_kwh) as kwh
    from {{ ref('stg_dcgm__gpu_hours') }}
    union all
    select
        'nvidia_smi' as source,
        sum(energy_kwh) as kwh
    from {{ ref('stg_nvidia_smi__gpu_hours') }}
    union all
    select
        'slurm' as source,
        sum(measured_kwh) as kwh
    from {{ ref('int_slurm_job_days_clipped') }}
    where gpu_count > 0 and measured_kwh > 0
    union all
    select
        'codecarbon' as source,
        sum(energy_kwh) as kwh
    from {{ ref('stg_codecarbon__runs') }}

),

energy_out as (

    select
        source,
        sum(energy_kwh) as kwh,
        sum(case when is_counted then energy_kwh else 0 end) as counted_kwh
    from usage
    where tier = 'measured'
    group by source

),

compared as (

    select
        energy_in.source,
        coalesce(energy_in.kwh, 0) as kwh_in,
        coalesce(energy_out.kwh, 0) as kwh_out,
        coalesce(energy_out.counted_kwh, 0) as counted_kwh
    from energy_in
    left join energy_out
        on energy_in.source = energy_out.source

)

select * from compared
where abs(kwh_in - kwh_out) > 1e-6 * greatest(1, abs(kwh_in))
