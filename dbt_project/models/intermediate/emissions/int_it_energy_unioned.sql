-- IT energy (before PUE) of everything the organisation runs, one row per
-- Slurm job-month or cloud usage part, in one shape.
with

slurm_energy as (

    select * from {{ ref('int_slurm_energy_estimated') }}

),

cloud_energy as (

    select * from {{ ref('int_cloud_energy_estimated') }}

),

slurm_rows as (

    select
        job_month_id as energy_row_id,
        'slurm' as source,
        'on_prem' as provider,
        site_id,
        cast(null as varchar) as region_code,
        cast(null as varchar) as billing_account_id,
        cast(null as varchar) as account_id,
        cast(null as varchar) as service_code,
        month,
        system_id,
        system_kind,
        activity,
        tier,
        false as is_cost_only,
        it_kwh,
        cast(null as double) as cost,
        cast(null as varchar) as currency
    from slurm_energy

),

cloud_rows as (

    select
        usage_part_id as energy_row_id,
        source,
        provider,
        cast(null as varchar) as site_id,
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
        it_kwh,
        part_cost as cost,
        currency
    from cloud_energy

),

unioned as (

    select * from slurm_rows
    union all
    select * from cloud_rows

)

select * from unioned
