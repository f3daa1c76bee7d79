{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='month',
        on_schema_change='append_new_columns',
        post_hook="{{ delete_rows_of_other_inputs() }}",
        meta={'monthly_inputs': {
            'models': ['int_cloud_energy_estimated'],
            'tables_by_month': ['int_gpu_usage_deduplicated'],
        }},
    )
}}
-- Accelerator use at one grain for every source: system x workload (Slurm
-- job, Kubernetes pod, CodeCarbon run, idle capacity, cloud resource) x day x
-- GPU model x site / region, with GPU-hours, IT energy and the tier of each
-- part. On-premises rows are the precedence step's counted segments
-- (int_gpu_usage_deduplicated): each GPU-hour once, at the best tier that saw
-- it - the same rows fct_emissions reports. Cloud rows come from the billing
-- rows (monthly grain). Failed and cancelled runs are included.
--
-- Incremental by month, following its inputs' months (chained_monthly_state,
-- macros/incremental_months.sql): a month's rows are its usage segments and
-- its cloud parts only.
{%- set monthly = chained_monthly_state() %}

with

on_prem_usage as (

    select * from {{ ref('int_gpu_usage_deduplicated') }}
    where is_counted {{ months_filter('month', monthly, 'and') }}

),

cloud_parts as (

    select * from {{ ref('int_cloud_energy_estimated') }}
    where activity = 'gpu' {{ months_filter('month', monthly, 'and') }}

),

on_prem_rows as (

    select
        gpu_usage_segment_id as gpu_usage_id,
        usage_date,
        'day' as period_grain,
        month,
        system_id,
        workload_type,
        workload_id,
        workload_name,
        run_state,
        usage_kind,
        source,
        tier,
        'on_prem' as provider,
        site_id,
        cast(null as {{ dbt.type_string() }}) as region_code,
        cluster,
        gpu_model,
        gpu_hours,
        energy_kwh as it_kwh,
        gpu_utilisation,
        gpu_power_w,
        power_basis
    from on_prem_usage

),

cloud_rows as (

    select
        {{ surrogate_key([
            'source', 'provider', 'coalesce(resource_id, account_id)', 'month', 'gpu_model', 'system_id', 'tier'
        ]) }} as gpu_usage_id,
        month as usage_date,
        'month' as period_grain,
        month,
        system_id,
        'cloud_resource' as workload_type,
        -- the instance, or the account / project when the export names no resource
        coalesce(resource_id, account_id) as workload_id,
        max(instance_type) as workload_name,
        cast(null as {{ dbt.type_string() }}) as run_state,
        'workload' as usage_kind,
        source,
        tier,
        provider,
        cast(null as {{ dbt.type_string() }}) as site_id,
        region_code,
        cast(null as {{ dbt.type_string() }}) as cluster,
        gpu_model,
        sum(gpu_hours) as gpu_hours,
        sum(it_kwh) as it_kwh,
        cast(null as {{ type_double() }}) as gpu_utilisation,
        max(gpu_power_w) as gpu_power_w,
        'power_model' as power_basis
    from cloud_parts
    group by source, provider, region_code, coalesce(resource_id, account_id), system_id, month, gpu_model, tier

),

unioned as (

    select * from on_prem_rows
    union all
    select * from cloud_rows

),

final as (

    select
        cast(gpu_usage_id as {{ dbt.type_string() }}) as gpu_usage_id,
        cast(usage_date as date) as usage_date,
        cast(period_grain as {{ dbt.type_string() }}) as period_grain,
        cast(month as date) as month,
        cast(system_id as {{ dbt.type_string() }}) as system_id,
        cast(workload_type as {{ dbt.type_string() }}) as workload_type,
        cast(workload_id as {{ dbt.type_string() }}) as workload_id,
        cast(workload_name as {{ dbt.type_string() }}) as workload_name,
        cast(run_state as {{ dbt.type_string() }}) as run_state,
        cast(usage_kind as {{ dbt.type_string() }}) as usage_kind,
        cast(source as {{ dbt.type_string() }}) as source,
        cast(tier as {{ dbt.type_string() }}) as tier,
        cast(provider as {{ dbt.type_string() }}) as provider,
        cast(site_id as {{ dbt.type_string() }}) as site_id,
        cast(region_code as {{ dbt.type_string() }}) as region_code,
        cast(cluster as {{ dbt.type_string() }}) as cluster,
        cast(gpu_model as {{ dbt.type_string() }}) as gpu_model,
        cast(gpu_hours as {{ type_double() }}) as gpu_hours,
        cast(it_kwh as {{ type_double() }}) as it_kwh,
        cast(gpu_utilisation as {{ type_double() }}) as gpu_utilisation,
        cast(gpu_power_w as {{ type_double() }}) as gpu_power_w,
        cast(power_basis as {{ dbt.type_string() }}) as power_basis,
        {{ monthly_state_columns('month', monthly) }}
    from unioned

)

select * from final
{{ stored_in_month_order('month') }}
