-- A cluster's metered idle consumption (clusters[].idle_energy) attributed to
-- the systems that held the cluster (methodology.md section 2b): the period's
-- kWh spread evenly over its days, each month's part shared by the GPU-hours
-- each system counted on the cluster in the period's days of that month
-- (int_gpu_usage_deduplicated; unattributed usage keeps its share as
-- `unattributed`); a month part with no GPU-hours on the cluster is wholly
-- `unattributed`. Activity gpu_idle, tier measured. A figure metered at the
-- facility already holds the site's overhead (no PUE row is added to it).
with

idle_energies as (

    select * from {{ ref('stg_org__cluster_idle_energies') }}

),

usage as (

    select * from {{ ref('int_gpu_usage_deduplicated') }}
    where is_counted and usage_kind = 'workload'

),

clusters as (

    select * from {{ ref('stg_org__clusters') }}

),

spans as (

    select
        *,
        cast(valid_from as timestamp) as period_start_at,
        cast(valid_to as timestamp) as period_end_at,
        {{ dbt.datediff('valid_from', 'valid_to', 'day') | trim }} as period_days
    from idle_energies

),

period_months as (

    {{ rows_per_month('spans', 'period_start_at', 'period_end_at') }}

),

month_parts as (

    select
        period_months.*,
        greatest(period_months.valid_from, period_months.month_start) as part_from,
        least(period_months.valid_to, {{ dbt.dateadd('month', 1, 'period_months.month_start') }}) as part_to
    from period_months

),

month_energy as (

    select
        *,
        kwh * {{ dbt.datediff('part_from', 'part_to', 'day') | trim }} / period_days as month_kwh
    from month_parts

),

system_hours as (

    select
        month_energy.cluster_idle_energy_id,
        month_energy.month_start,
        usage.system_id,
        usage.system_kind,
        sum(usage.gpu_hours) as gpu_hours
    from month_energy
    inner join usage
        on
            month_energy.cluster = usage.cluster
            and month_energy.part_from <= usage.usage_date
            and month_energy.part_to > usage.usage_date
    group by month_energy.cluster_idle_energy_id, month_energy.month_start, usage.system_id, usage.system_kind

),

shares as (

    select
        *,
        gpu_hours / nullif(sum(gpu_hours) over (partition by cluster_idle_energy_id, month_start), 0) as gpu_hour_share
    from system_hours

),

attributed as (

    select
        month_energy.cluster_idle_energy_id,
        month_energy.cluster,
        month_energy.meter_source,
        month_energy.metered_at,
        month_energy.month_start as month,
        coalesce(shares.system_id, 'unattributed') as system_id,
        shares.system_kind,
        shares.gpu_hours,
        coalesce(shares.gpu_hour_share, 1.0) as gpu_hour_share,
        month_energy.month_kwh * coalesce(shares.gpu_hour_share, 1.0) as it_kwh
    from month_energy
    left join shares
        on
            month_energy.cluster_idle_energy_id = shares.cluster_idle_energy_id
            and month_energy.month_start = shares.month_start
            and shares.gpu_hour_share > 0

),

final as (

    select
        attributed.cluster_idle_energy_id || ':' || cast(attributed.month as {{ dbt.type_string() }})
        || ':' || attributed.system_id as idle_energy_row_id,
        attributed.*,
        clusters.site_id,
        'gpu_idle' as activity,
        'measured' as tier,
        attributed.metered_at = 'facility' as includes_facility_overhead
    from attributed
    left join clusters
        on attributed.cluster = clusters.cluster

)

select * from final
