{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='month',
        on_schema_change='append_new_columns',
        post_hook="{{ delete_rows_of_other_inputs() }}",
        meta={'monthly_inputs': {
            'models': ['int_cloud_energy_estimated'],
            'tables_by_month': [
                'int_slurm_energy_estimated', 'int_gpu_usage_deduplicated', 'int_cluster_idle_energy_attributed',
            ],
        }},
    )
}}
-- IT energy (before PUE) of everything the organisation runs, in one shape:
-- on-premises GPU usage from the precedence step (one row per workload-day
-- segment: each GPU-hour once, at its best tier), Slurm jobs without GPUs
-- (metered energy only), metered idle consumption of clusters, cloud usage parts
-- (summed per provider cell, system and activity).
--
-- Incremental by month (chained_monthly_state, macros/incremental_months.sql):
-- a run recomputes the months whose cloud energy was recomputed (their CUR
-- partition reloaded) or whose on-premises rows changed (a month of telemetry
-- or Slurm jobs), every month when another input changed.
{%- set monthly = chained_monthly_state() %}

with

slurm_energy as (

    select * from {{ ref('int_slurm_energy_estimated') }}
    -- GPU jobs come through the precedence step (gpu_rows)
    where gpu_count = 0
    {{ months_filter('month', monthly, 'and') }}

),

gpu_usage as (

    select * from {{ ref('int_gpu_usage_deduplicated') }}
    where is_counted
    {{ months_filter('month', monthly, 'and') }}

),

cluster_idle_energy as (

    select * from {{ ref('int_cluster_idle_energy_attributed') }}
    {{ months_filter('month', monthly) }}

),

cloud_energy as (

    select * from {{ ref('int_cloud_energy_estimated') }}
    {{ months_filter('month', monthly) }}

),

slurm_rows as (

    select
        job_day_id as energy_row_id,
        'slurm' as source,
        'on_prem' as provider,
        site_id,
        cast(null as {{ dbt.type_string() }}) as region_code,
        cast(null as {{ dbt.type_string() }}) as billing_account_id,
        cast(null as {{ dbt.type_string() }}) as account_id,
        cast(null as {{ dbt.type_string() }}) as service_code,
        month,
        system_id,
        system_kind,
        activity,
        tier,
        false as is_cost_only,
        it_kwh,
        cast(null as {{ type_double() }}) as cost,
        cast(null as {{ dbt.type_string() }}) as currency
    from slurm_energy

),

cloud_rows as (

    -- Cloud usage parts summed per provider cell (billing account x account x
    -- service x region x month) x system x activity: every step after this one
    -- (PUE, grid factors, the provider's figure shared by cost or energy) is
    -- per cell and linear in energy and cost, so the sums give the figures
    -- the parts would, on far fewer rows. Parts with and without a positive
    -- cost stay apart: allocation by cost weighs positive costs only.
    select
        min(usage_part_id) as energy_row_id,
        source,
        provider,
        cast(null as {{ dbt.type_string() }}) as site_id,
        region_code,
        billing_account_id,
        account_id,
        service_code,
        month,
        system_id,
        system_kind,
        activity,
        tier,
        is_cost_only,
        sum(it_kwh) as it_kwh,
        sum(part_cost) as cost,
        currency
    from cloud_energy
    group by
        source,
        provider,
        region_code,
        billing_account_id,
        account_id,
        service_code,
        month,
        system_id,
        system_kind,
        activity,
        tier,
        is_cost_only,
        currency,
        coalesce(part_cost, 0) > 0

),

gpu_rows as (

    select
        gpu_usage_segment_id as energy_row_id,
        source,
        'on_prem' as provider,
        site_id,
        cast(null as {{ dbt.type_string() }}) as region_code,
        cast(null as {{ dbt.type_string() }}) as billing_account_id,
        cast(null as {{ dbt.type_string() }}) as account_id,
        cast(null as {{ dbt.type_string() }}) as service_code,
        month,
        system_id,
        system_kind,
        case when usage_kind = 'idle_capacity' then 'gpu_idle' else 'gpu' end as activity,
        tier,
        false as is_cost_only,
        energy_kwh as it_kwh,
        cast(null as {{ type_double() }}) as cost,
        cast(null as {{ dbt.type_string() }}) as currency,
        false as includes_facility_overhead
    from gpu_usage

),

idle_rows as (

    select
        idle_energy_row_id as energy_row_id,
        'cluster_idle_energy' as source,
        'on_prem' as provider,
        site_id,
        cast(null as {{ dbt.type_string() }}) as region_code,
        cast(null as {{ dbt.type_string() }}) as billing_account_id,
        cast(null as {{ dbt.type_string() }}) as account_id,
        cast(null as {{ dbt.type_string() }}) as service_code,
        month,
        system_id,
        system_kind,
        activity,
        tier,
        false as is_cost_only,
        it_kwh,
        cast(null as {{ type_double() }}) as cost,
        cast(null as {{ dbt.type_string() }}) as currency,
        includes_facility_overhead
    from cluster_idle_energy

),

unioned as (

    select
        *,
        false as includes_facility_overhead
    from slurm_rows
    union all
    select
        *,
        false as includes_facility_overhead
    from cloud_rows
    union all
    select * from gpu_rows
    union all
    select * from idle_rows

),

final as (

    select
        *,
        {{ monthly_state_columns('month', monthly) }}
    from unioned

)

select * from final
{{ stored_in_month_order('month') }}
