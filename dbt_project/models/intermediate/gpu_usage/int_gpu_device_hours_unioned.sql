{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='month',
        on_schema_change='append_new_columns',
        post_hook="{{ delete_rows_of_other_inputs(telemetry_monthly_sources()) }}",
    )
}}
-- Device-level GPU measurements in one shape, one row per source x GPU x hour
-- (x label set for DCGM), with the GPU model and the cluster of the host.
-- The first de-duplication rule (methodology.md section 2a) applies here: the
-- same GPU (UUID) in the same hour seen by DCGM and by nvidia-smi is DCGM's;
-- the nvidia-smi row is kept, marked superseded, so its energy is accounted for.
--
-- Incremental by month (macros/incremental_telemetry.sql): DCGM and nvidia-smi
-- land a partition per month holding that month's hours; a run recomputes the
-- months whose partitions changed (a new day, a re-read month) from those
-- partitions alone, and every month when anything else it reads changed (the
-- hosts, the GPU names, a model's SQL).
{%- set monthly = monthly_state(
    device_hours_landing_fingerprints(), telemetry_monthly_sources(), rows_need_monthly_input=true
) %}

with

dcgm_hours as (

    select * from {{ ref('stg_dcgm__gpu_hours') }}
    {{ landed_months_filter('landed_month', monthly) }}

),

nvidia_smi_hours as (

    select * from {{ ref('stg_nvidia_smi__gpu_hours') }}
    {{ landed_months_filter('landed_month', monthly) }}

),

gpu_names as (

    select * from {{ ref('int_gpu_names_mapped') }}

),

hosts as (

    select * from {{ ref('int_gpu_hosts_located') }}

),

dcgm_rows as (

    select
        'dcgm:' || dcgm_gpu_hour_id as device_hour_id,
        'dcgm' as source,
        gpu_uuid,
        hostname,
        gpu_name,
        pod,
        namespace,
        hpc_job,
        hour_start_at,
        usage_date,
        gpu_hours,
        energy_kwh,
        energy_basis,
        gpu_utilisation,
        {{ landed_month_start('landed_month') }} as month
    from dcgm_hours

),

nvidia_smi_rows as (

    select
        'nvidia_smi:' || nvidia_smi_gpu_hour_id as device_hour_id,
        'nvidia_smi' as source,
        gpu_uuid,
        hostname,
        gpu_name,
        cast(null as {{ dbt.type_string() }}) as pod,
        cast(null as {{ dbt.type_string() }}) as namespace,
        cast(null as {{ dbt.type_string() }}) as hpc_job,
        hour_start_at,
        usage_date,
        gpu_hours,
        energy_kwh,
        'power_samples' as energy_basis,
        gpu_utilisation,
        {{ landed_month_start('landed_month') }} as month
    from nvidia_smi_hours

),

dcgm_device_hours as (

    select distinct
        gpu_uuid,
        hour_start_at
    from dcgm_rows

),

unioned as (

    select * from dcgm_rows
    union all
    select * from nvidia_smi_rows

),

final as (

    select
        unioned.*,
        hosts.short_hostname,
        hosts.cluster as host_cluster,
        gpu_names.gpu_model,
        unioned.source = 'nvidia_smi' and dcgm_device_hours.gpu_uuid is not null as is_superseded,
        case
            when unioned.source = 'nvidia_smi' and dcgm_device_hours.gpu_uuid is not null then 'dcgm'
        end as superseded_by,
        {{ monthly_state_columns('unioned.month', monthly) }}
    from unioned
    left join hosts
        on unioned.hostname = hosts.hostname
    left join gpu_names
        on unioned.gpu_name = gpu_names.gpu_name
    left join dcgm_device_hours
        on
            unioned.source = 'nvidia_smi'
            and unioned.gpu_uuid = dcgm_device_hours.gpu_uuid
            and unioned.hour_start_at = dcgm_device_hours.hour_start_at

)

select * from final
