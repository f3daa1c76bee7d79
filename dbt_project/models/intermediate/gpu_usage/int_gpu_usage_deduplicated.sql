-- The precedence step (methodology.md section 2a): every workload-day's
-- GPU-hours counted once, each part at the best energy tier that saw it:
--   1. measured, DCGM        device-hours matched to the workload, their energy;
--   2. measured, nvidia-smi  device-hours matched to it (a GPU-hour DCGM also saw
--                            was already left to DCGM, int_gpu_device_hours_unioned);
--   the hours the allocation holds beyond those (never below zero) then take:
--   3. measured, Slurm       ConsumedEnergyRaw, its share for those hours
--                            (metered energy x remaining / allocated hours);
--   4. measured, CodeCarbon  runs matched to the workload, up to those hours;
--   5. estimated             the rest x the power model's draw;
--   (6. assumed: documented defaults; no source needs one today.)
-- A measurement replaces the estimate of the hours it covers, never adds to it.
-- The allocation is the ledger of GPU-hours: a workload-day that has one
-- counts exactly its hours (device-hours beyond it keep their energy on the
-- allocation's hours); one without (a pod OpenCost does not report, a GPU no
-- job held) counts what was measured.
-- What a better tier made redundant (Slurm's meter for device-measured hours,
-- CodeCarbon under a meter or a device, nvidia-smi under DCGM, CodeCarbon on a
-- cloud VM the billing rows already count) is kept as rows with is_counted =
-- false, so energy in = energy out (tests/assert_gpu_usage_precedence_conserves_energy.sql).
with

workload_days as (

    select * from {{ ref('int_gpu_workload_days_collected') }}

),

superseded_devices as (

    select * from {{ ref('int_gpu_device_hours_unioned') }}
    where is_superseded

),

layered as (

    select
        *,
        greatest(allocation_gpu_hours - device_gpu_hours, 0) as remaining_gpu_hours,
        case
            when allocation_gpu_hours > 0 and device_gpu_hours > allocation_gpu_hours
                then allocation_gpu_hours / device_gpu_hours
            else 1.0
        end as device_hour_scale
    from workload_days

),

metered as (

    select
        *,
        case when meter_kwh > 0 and allocation_gpu_hours > 0 then remaining_gpu_hours else 0 end
            as meter_gpu_hours,
        case
            when meter_kwh > 0 and allocation_gpu_hours > 0
                then meter_kwh * remaining_gpu_hours / allocation_gpu_hours
            else 0
        end as meter_used_kwh,
        -- the share of the CodeCarbon measurement that is not a device's: all
        -- of it where no device measured the workload-day, else its GPU-hours
        -- outside the device-hours inside its span, up to the hours the
        -- devices left
        case
            when meter_kwh > 0 and allocation_gpu_hours > 0 then 0
            when device_gpu_hours = 0 then 1
            when codecarbon_gpu_hours > 0
                then least(
                        greatest(codecarbon_gpu_hours - codecarbon_device_overlap_gpu_hours, 0), remaining_gpu_hours
                    ) / codecarbon_gpu_hours
            else 0
        end as codecarbon_share,
        case
            when meter_kwh > 0 and allocation_gpu_hours > 0 then 0
            when allocation_gpu_hours = 0 and device_gpu_hours = 0 then codecarbon_gpu_hours
            when device_gpu_hours = 0 then least(codecarbon_gpu_hours, remaining_gpu_hours)
            else least(greatest(codecarbon_gpu_hours - codecarbon_device_overlap_gpu_hours, 0), remaining_gpu_hours)
        end as codecarbon_counted_gpu_hours
    from layered

),

estimated as (

    select
        *,
        codecarbon_counted_gpu_hours as codecarbon_used_gpu_hours,
        codecarbon_kwh * codecarbon_share as codecarbon_used_kwh,
        greatest(remaining_gpu_hours - meter_gpu_hours - codecarbon_counted_gpu_hours, 0) as estimated_gpu_hours
    from metered

),

segments as (

    select
        estimated.*,
        'dcgm' as segment_source,
        'measured' as segment_tier,
        true as is_counted,
        cast(null as {{ dbt.type_string() }}) as superseded_by,
        dcgm_gpu_hours * device_hour_scale as segment_gpu_hours,
        dcgm_kwh as segment_kwh
    from estimated
    where dcgm_gpu_hours > 0 or dcgm_kwh > 0
    union all
    select
        estimated.*,
        'nvidia_smi' as segment_source,
        'measured' as segment_tier,
        true as is_counted,
        cast(null as {{ dbt.type_string() }}) as superseded_by,
        nvidia_smi_gpu_hours * device_hour_scale as segment_gpu_hours,
        nvidia_smi_kwh as segment_kwh
    from estimated
    where nvidia_smi_gpu_hours > 0 or nvidia_smi_kwh > 0
    union all
    select
        estimated.*,
        'slurm' as segment_source,
        'measured' as segment_tier,
        true as is_counted,
        cast(null as {{ dbt.type_string() }}) as superseded_by,
        meter_gpu_hours as segment_gpu_hours,
        meter_used_kwh as segment_kwh
    from estimated
    where meter_gpu_hours > 0
    union all
    -- Slurm's meter for the hours a device measured
    select
        estimated.*,
        'slurm' as segment_source,
        'measured' as segment_tier,
        false as is_counted,
        case when dcgm_gpu_hours > 0 then 'dcgm' else 'nvidia_smi' end as superseded_by,
        0.0 as segment_gpu_hours,
        meter_kwh - meter_used_kwh as segment_kwh
    from estimated
    where meter_kwh - meter_used_kwh > 1e-12
    union all
    -- a CodeCarbon run on a cloud VM: the billing rows count that VM
    select
        estimated.*,
        'codecarbon' as segment_source,
        'measured' as segment_tier,
        not is_codecarbon_on_cloud as is_counted,
        case when is_codecarbon_on_cloud then 'cloud_billing' end as superseded_by,
        case when is_codecarbon_on_cloud then 0.0 else codecarbon_used_gpu_hours end as segment_gpu_hours,
        codecarbon_used_kwh as segment_kwh
    from estimated
    where codecarbon_used_gpu_hours > 0 or codecarbon_used_kwh > 0
    union all
    -- CodeCarbon under Slurm's meter or a device
    select
        estimated.*,
        'codecarbon' as segment_source,
        'measured' as segment_tier,
        false as is_counted,
        case
            when meter_kwh > 0 then 'slurm'
            when dcgm_gpu_hours > 0 then 'dcgm'
            else 'nvidia_smi'
        end as superseded_by,
        0.0 as segment_gpu_hours,
        codecarbon_kwh - codecarbon_used_kwh as segment_kwh
    from estimated
    where codecarbon_kwh - codecarbon_used_kwh > 1e-12
    union all
    select
        estimated.*,
        coalesce(allocation_source, 'slurm') as segment_source,
        'estimated' as segment_tier,
        true as is_counted,
        cast(null as {{ dbt.type_string() }}) as superseded_by,
        estimated_gpu_hours as segment_gpu_hours,
        coalesce(estimated_gpu_hours * gpu_power_w / 1000, 0) as segment_kwh
    from estimated
    where estimated_gpu_hours > 0

),

workload_rows as (

    select
        workload_day_id || ':' || segment_source || ':' || segment_tier
        || case when is_counted then '' else ':superseded' end as gpu_usage_segment_id,
        workload_day_id,
        workload_type,
        workload_id,
        workload_name,
        run_state,
        usage_kind,
        usage_date,
        month,
        system_id,
        system_kind,
        cluster,
        site_id,
        gpu_model,
        segment_source as source,
        segment_tier as tier,
        is_counted,
        superseded_by,
        case when segment_tier = 'estimated' then gpu_power_w end as gpu_power_w,
        case when segment_tier = 'estimated' then coalesce(power_basis, 'no_power_model') end as power_basis,
        case when segment_source in ('dcgm', 'nvidia_smi') then measured_gpu_utilisation end as gpu_utilisation,
        segment_gpu_hours as gpu_hours,
        segment_kwh as energy_kwh
    from segments

),

superseded_device_rows as (

    -- the same GPU-hour DCGM also measured: nvidia-smi's figure is left out
    select
        'gpu_device:' || hostname || ':' || gpu_uuid || ':' || cast(usage_date as {{ dbt.type_string() }})
        || ':nvidia_smi:measured:superseded' as gpu_usage_segment_id,
        'gpu_device:' || hostname || ':' || gpu_uuid || ':'
        || cast(usage_date as {{ dbt.type_string() }}) as workload_day_id,
        'gpu_device' as workload_type,
        hostname || ':' || gpu_uuid as workload_id,
        hostname || ':' || gpu_uuid as workload_name,
        cast(null as {{ dbt.type_string() }}) as run_state,
        'workload' as usage_kind,
        usage_date,
        cast({{ dbt.date_trunc('month', 'usage_date') }} as date) as month,
        'unattributed' as system_id,
        cast(null as {{ dbt.type_string() }}) as system_kind,
        max(host_cluster) as cluster,
        cast(null as {{ dbt.type_string() }}) as site_id,
        max(gpu_model) as gpu_model,
        'nvidia_smi' as source,
        'measured' as tier,
        false as is_counted,
        'dcgm' as superseded_by,
        cast(null as {{ type_double() }}) as gpu_power_w,
        cast(null as {{ dbt.type_string() }}) as power_basis,
        cast(null as {{ type_double() }}) as gpu_utilisation,
        0.0 as gpu_hours,
        sum(energy_kwh) as energy_kwh
    from superseded_devices
    group by hostname, gpu_uuid, usage_date

),

final as (

    select * from workload_rows
    union all
    select * from superseded_device_rows

)

select * from final
