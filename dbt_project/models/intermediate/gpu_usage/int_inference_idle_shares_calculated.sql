-- The idle share of each production inference system's serving energy per
-- month (methodology.md section 2c): provisioned capacity that served no
-- request - the warm pool - as a share of the system's GPU energy.
--   measured     1 - the GPU-hour-weighted utilisation of the system's GPUs
--                (DCGM / nvidia-smi), where they are measured;
--   traffic      else 1 - requests / (peak hourly requests x hours reported):
--                capacity is assumed sized to the month's busiest hour, so an
--                hour at the peak is all active and an hour without requests
--                all idle;
-- never below the configured minimum (methodology.inference_min_idle_share,
-- default 0). A month without traffic or utilisation takes the minimum.
with

usage as (

    select * from {{ ref('int_gpu_usage_deduplicated') }}
    where
        is_counted
        and system_kind = 'production_inference'
        and gpu_utilisation is not null
        and gpu_hours > 0

),

requests as (

    select * from {{ ref('int_inference_requests_attributed') }}
    where system_kind = 'production_inference'

),

settings as (

    select * from {{ ref('int_settings_pivoted') }}

),

utilisation_months as (

    select
        system_id,
        month,
        sum(gpu_hours) as measured_gpu_hours,
        sum(gpu_utilisation * gpu_hours) / sum(gpu_hours) as measured_gpu_utilisation
    from usage
    group by system_id, month

),

system_hours as (

    -- all services of a system together: the system is sized for their sum
    select
        system_id,
        usage_month as month,
        hour_start_at,
        sum(requests) as requests
    from requests
    group by system_id, usage_month, hour_start_at

),

traffic_months as (

    select
        system_id,
        month,
        sum(requests) as requests,
        max(requests) as peak_hourly_requests,
        count(*) as hours_reported
    from system_hours
    group by system_id, month

),

system_months as (

    select
        system_id,
        month
    from utilisation_months
    union
    select
        system_id,
        month
    from traffic_months

),

calculated as (

    select
        system_months.system_id,
        system_months.month,
        utilisation_months.measured_gpu_hours,
        utilisation_months.measured_gpu_utilisation,
        traffic_months.requests,
        traffic_months.peak_hourly_requests,
        traffic_months.hours_reported,
        case
            when traffic_months.peak_hourly_requests > 0
                then
                    cast(traffic_months.requests as {{ type_double() }})
                    / (traffic_months.peak_hourly_requests * traffic_months.hours_reported)
            when traffic_months.hours_reported > 0 then 0.0
        end as traffic_active_share,
        settings.inference_min_idle_share
    from system_months
    cross join settings
    left join utilisation_months
        on
            system_months.system_id = utilisation_months.system_id
            and system_months.month = utilisation_months.month
    left join traffic_months
        on
            system_months.system_id = traffic_months.system_id
            and system_months.month = traffic_months.month

),

final as (

    select
        system_id || ':' || cast(month as {{ dbt.type_string() }}) as idle_share_id,
        *,
        case
            when measured_gpu_utilisation is not null then 1 - measured_gpu_utilisation
            else 1 - traffic_active_share
        end as observed_idle_share,
        greatest(
            inference_min_idle_share,
            coalesce(1 - measured_gpu_utilisation, 1 - traffic_active_share, 0)
        ) as idle_share,
        case
            when
                coalesce(1 - measured_gpu_utilisation, 1 - traffic_active_share, 0) < inference_min_idle_share
                then 'minimum'
            when measured_gpu_utilisation is not null then 'gpu_utilisation'
            else 'traffic_vs_peak'
        end as idle_share_basis
    from calculated

)

select * from final
