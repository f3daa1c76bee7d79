-- The five hidden drivers of AI emissions as figures per AI system and month
-- (methodology.md section 10): idle capacity, data movement, failed runs,
-- retraining cadence and embodied refresh. A driver that does not apply to
-- the system's kind is null; the embodied refresh is a yearly figure of the
-- owned sites the system ran on, repeated on each month row of the year.
-- Location-based, embodied amortised (the per-system view).
with

systems as (

    select * from {{ ref('dim_ai_system') }}
    where not is_unattributed

),

emissions as (

    select * from {{ ref('fct_emissions') }}
    where method = 'location' and accounting_basis in ('activity', 'amortised')

),

inference as (

    select * from {{ ref('fct_inference_intensity') }}

),

cadence as (

    select * from {{ ref('fct_training_cadence') }}

),

gpu_usage as (

    select * from {{ ref('fct_gpu_usage') }}

),

hardware_refresh as (

    select * from {{ ref('fct_hardware_refresh') }}

),

system_month_emissions as (

    select
        emissions.system_id,
        emissions.month,
        -- IT energy on both sides, so that PUE cancels out of the share
        sum(
            case
                when emissions.activity in ('gpu', 'gpu_idle', 'cpu', 'memory') then emissions.energy_kwh
                else 0
            end
        ) as compute_kwh,
        sum(case when emissions.activity = 'network' then emissions.energy_kwh else 0 end) as data_movement_kwh,
        sum(case when emissions.activity = 'network' then emissions.kg_co2e else 0 end)
            as data_movement_kg_co2e,
        sum(case when emissions.activity = 'network' then 1 else 0 end) as network_rows,
        sum(case when emissions.accounting_basis = 'amortised' then emissions.kg_co2e else 0 end)
            as embodied_amortised_kg_co2e,
        sum(emissions.kg_co2e) as total_kg_co2e
    from emissions
    inner join systems
        on emissions.system_id = systems.system_id
    group by emissions.system_id, emissions.month

),

system_months as (

    select
        system_id,
        month
    from system_month_emissions
    union
    select
        system_id,
        month
    from inference
    union
    select
        system_id,
        month
    from cadence

),

-- the owned sites whose GPUs each system used in a year
owned_site_years as (

    select distinct
        system_id,
        site_id,
        cast(extract(year from month) as integer) as year
    from gpu_usage
    where provider = 'on_prem' and site_id is not null and gpu_hours > 0

),

site_years as (

    select
        year,
        site_id,
        sum(acquired_kg_co2e) as embodied_added_kg_co2e,
        sum(gpus_added) as gpus_added,
        sum(gpus_retired) as gpus_retired
    from hardware_refresh
    group by year, site_id

),

-- a year without a hardware event at the site is 0 added, 0 retired
system_years as (

    select
        owned_site_years.system_id,
        owned_site_years.year,
        sum(coalesce(site_years.embodied_added_kg_co2e, 0)) as embodied_added_kg_co2e,
        sum(coalesce(site_years.gpus_added, 0)) as gpus_added,
        sum(coalesce(site_years.gpus_retired, 0)) as gpus_retired
    from owned_site_years
    left join site_years
        on
            owned_site_years.site_id = site_years.site_id
            and owned_site_years.year = site_years.year
    group by owned_site_years.system_id, owned_site_years.year

),

joined as (

    select
        system_months.system_id,
        systems.system_name,
        systems.kind,
        system_months.month,
        coalesce(system_month_emissions.total_kg_co2e, 0) as total_kg_co2e,
        inference.active_kwh as inference_active_kwh,
        inference.idle_kwh as inference_idle_kwh,
        inference.idle_share,
        inference.idle_kg_co2e,
        coalesce(system_month_emissions.compute_kwh, 0) as compute_kwh,
        coalesce(system_month_emissions.network_rows, 0) as network_rows,
        system_month_emissions.data_movement_kwh,
        system_month_emissions.data_movement_kg_co2e,
        cadence.runs,
        cadence.failed_runs + cadence.killed_runs as failed_runs,
        cadence.runs_kg_co2e,
        cadence.failed_killed_kg_co2e,
        cadence.failed_killed_share,
        cadence.first_successful_run_kg_co2e,
        cadence.cumulative_retraining_kg_co2e,
        cadence.retraining_to_first_run_ratio,
        coalesce(system_month_emissions.embodied_amortised_kg_co2e, 0) as embodied_amortised_kg_co2e,
        system_years.embodied_added_kg_co2e as year_embodied_added_kg_co2e,
        system_years.gpus_added as year_gpus_added,
        system_years.gpus_retired as year_gpus_retired
    from system_months
    inner join systems
        on system_months.system_id = systems.system_id
    left join system_month_emissions
        on
            system_months.system_id = system_month_emissions.system_id
            and system_months.month = system_month_emissions.month
    left join inference
        on
            system_months.system_id = inference.system_id
            and system_months.month = inference.month
    left join cadence
        on
            system_months.system_id = cadence.system_id
            and system_months.month = cadence.month
    left join system_years
        on
            system_months.system_id = system_years.system_id
            and extract(year from system_months.month) = system_years.year

),

final as (

    select
        cast(system_id as {{ dbt.type_string() }}) as system_id,
        cast(system_name as {{ dbt.type_string() }}) as system_name,
        cast(kind as {{ dbt.type_string() }}) as kind,
        cast(month as date) as month,
        cast(total_kg_co2e as {{ type_double() }}) as total_kg_co2e,
        -- 1. idle capacity (production inference)
        cast(inference_active_kwh as {{ type_double() }}) as inference_active_kwh,
        cast(inference_idle_kwh as {{ type_double() }}) as inference_idle_kwh,
        cast(idle_share as {{ type_double() }}) as idle_share,
        cast(idle_kg_co2e as {{ type_double() }}) as idle_kg_co2e,
        -- 2. data movement: null when no network usage is recorded for the month
        cast(compute_kwh as {{ type_double() }}) as compute_kwh,
        cast(case when network_rows > 0 then data_movement_kwh end as {{ type_double() }})
            as data_movement_kwh,
        cast(
            case when network_rows > 0 and compute_kwh > 0 then data_movement_kwh / compute_kwh end
            as {{ type_double() }}
        ) as data_movement_share,
        cast(case when network_rows > 0 then data_movement_kg_co2e end as {{ type_double() }})
            as data_movement_kg_co2e,
        -- 3. failed runs (training pipelines, fine-tuning workflows)
        cast(runs as {{ dbt.type_bigint() }}) as runs,
        cast(failed_runs as {{ dbt.type_bigint() }}) as failed_runs,
        cast(runs_kg_co2e as {{ type_double() }}) as runs_kg_co2e,
        cast(failed_killed_kg_co2e as {{ type_double() }}) as failed_runs_kg_co2e,
        cast(failed_killed_share as {{ type_double() }}) as failed_run_share,
        -- 4. retraining cadence, cumulative from the first successful run on
        cast(first_successful_run_kg_co2e as {{ type_double() }}) as first_successful_run_kg_co2e,
        cast(cumulative_retraining_kg_co2e as {{ type_double() }}) as cumulative_retraining_kg_co2e,
        cast(retraining_to_first_run_ratio as {{ type_double() }}) as retraining_to_first_run_ratio,
        -- 5. embodied refresh: the month's amortised share, and the year's
        -- acquisitions at the owned sites the system used against the fleet's growth
        cast(embodied_amortised_kg_co2e as {{ type_double() }}) as embodied_amortised_kg_co2e,
        cast(year_embodied_added_kg_co2e as {{ type_double() }}) as year_embodied_added_kg_co2e,
        cast(year_gpus_added as {{ dbt.type_bigint() }}) as year_gpus_added,
        cast(year_gpus_retired as {{ dbt.type_bigint() }}) as year_gpus_retired,
        cast(year_gpus_added - year_gpus_retired as {{ dbt.type_bigint() }}) as year_fleet_gpu_growth,
        -- GPUs bought that only replaced retired ones, as a share of those bought
        cast(
            case
                when year_gpus_added > 0
                    then least(year_gpus_retired, year_gpus_added) * 1.0 / year_gpus_added
            end as {{ type_double() }}
        ) as year_replacement_share,
        cast(
            case
                when year_gpus_added - year_gpus_retired > 0
                    then year_embodied_added_kg_co2e / (year_gpus_added - year_gpus_retired)
            end as {{ type_double() }}
        ) as year_embodied_kg_co2e_per_gpu_of_growth
    from joined

)

select * from final
