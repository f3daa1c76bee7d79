-- Training runs per system and month: how often each training pipeline or
-- fine-tuning workflow retrains, what failed and killed runs cost as a share
-- of its training emissions, and what retraining has cost so far next to the
-- first successful run (methodology.md section 6). Runs count in the month
-- they started; their kgCO2e is location-based (fct_training_runs).
with

runs as (

    select * from {{ ref('fct_training_runs') }}

),

systems as (

    select * from {{ ref('dim_ai_system') }}

),

emissions as (

    select * from {{ ref('fct_emissions') }}

),

training_systems as (

    select system_id
    from systems
    where kind in ('training_pipeline', 'fine_tuning_workflow')

),

run_months as (

    select
        runs.system_id,
        runs.month,
        count(*) as runs,
        sum(case when runs.run_status = 'succeeded' then 1 else 0 end) as succeeded_runs,
        sum(case when runs.run_status = 'failed' then 1 else 0 end) as failed_runs,
        sum(case when runs.run_status = 'killed' then 1 else 0 end) as killed_runs,
        sum(case when runs.run_status in ('running', 'unknown') then 1 else 0 end) as other_runs,
        sum(coalesce(runs.gpu_hours, 0)) as gpu_hours,
        sum(coalesce(runs.it_kwh, 0)) as it_kwh,
        sum(coalesce(runs.kg_co2e, 0)) as runs_kg_co2e,
        sum(case when runs.run_status in ('failed', 'killed') then coalesce(runs.kg_co2e, 0) else 0 end)
            as failed_killed_kg_co2e
    from runs
    inner join training_systems
        on runs.system_id = training_systems.system_id
    group by runs.system_id, runs.month

),

training_months as (

    -- what fct_emissions books as training: busy GPU energy of every run,
    -- linked or not, and measured idle energy of the clusters the system held
    select
        emissions.system_id,
        emissions.month,
        sum(emissions.kg_co2e) as training_kg_co2e
    from emissions
    inner join training_systems
        on emissions.system_id = training_systems.system_id
    where
        emissions.emission_category = 'training'
        and emissions.method = 'location'
        and emissions.accounting_basis = 'activity'
    group by emissions.system_id, emissions.month

),

first_runs as (

    select
        system_id,
        month as first_success_month,
        kg_co2e as first_success_kg_co2e
    from runs
    where is_first_successful_run

),

system_months as (

    select
        system_id,
        month
    from run_months
    union
    select
        system_id,
        month
    from training_months

),

joined as (

    select
        system_months.system_id,
        system_months.month,
        coalesce(run_months.runs, 0) as runs,
        coalesce(run_months.succeeded_runs, 0) as succeeded_runs,
        coalesce(run_months.failed_runs, 0) as failed_runs,
        coalesce(run_months.killed_runs, 0) as killed_runs,
        coalesce(run_months.other_runs, 0) as other_runs,
        coalesce(run_months.gpu_hours, 0) as gpu_hours,
        coalesce(run_months.it_kwh, 0) as it_kwh,
        coalesce(run_months.runs_kg_co2e, 0) as runs_kg_co2e,
        coalesce(run_months.failed_killed_kg_co2e, 0) as failed_killed_kg_co2e,
        coalesce(training_months.training_kg_co2e, 0) as training_kg_co2e,
        first_runs.first_success_month,
        first_runs.first_success_kg_co2e
    from system_months
    left join run_months
        on
            system_months.system_id = run_months.system_id
            and system_months.month = run_months.month
    left join training_months
        on
            system_months.system_id = training_months.system_id
            and system_months.month = training_months.month
    left join first_runs
        on system_months.system_id = first_runs.system_id

),

cumulated as (

    select
        *,
        sum(runs) over (partition by system_id order by month rows unbounded preceding) as cumulative_runs,
        sum(runs_kg_co2e) over (partition by system_id order by month rows unbounded preceding)
            as cumulative_runs_kg_co2e
    from joined

),

final as (

    select
        cast({{ surrogate_key(['system_id', 'month']) }} as {{ dbt.type_string() }}) as training_month_id,
        cast(system_id as {{ dbt.type_string() }}) as system_id,
        cast(month as date) as month,
        cast(runs as bigint) as runs,
        cast(succeeded_runs as bigint) as succeeded_runs,
        cast(failed_runs as bigint) as failed_runs,
        cast(killed_runs as bigint) as killed_runs,
        cast(other_runs as bigint) as other_runs,
        cast(gpu_hours as {{ type_double() }}) as gpu_hours,
        cast(it_kwh as {{ type_double() }}) as it_kwh,
        cast(runs_kg_co2e as {{ type_double() }}) as runs_kg_co2e,
        cast(failed_killed_kg_co2e as {{ type_double() }}) as failed_killed_kg_co2e,
        cast(case when runs_kg_co2e > 0 then failed_killed_kg_co2e / runs_kg_co2e end as {{ type_double() }})
            as failed_killed_share,
        cast(training_kg_co2e as {{ type_double() }}) as training_kg_co2e,
        cast(cumulative_runs as bigint) as cumulative_runs,
        cast(cumulative_runs_kg_co2e as {{ type_double() }}) as cumulative_runs_kg_co2e,
        cast(first_success_kg_co2e as {{ type_double() }}) as first_successful_run_kg_co2e,
        -- everything run so far beyond the first successful run: failed
        -- attempts before it, every retraining and failure after it
        cast(
            case when first_success_month <= month then cumulative_runs_kg_co2e - first_success_kg_co2e end
            as {{ type_double() }}
        ) as cumulative_retraining_kg_co2e,
        cast(
            case
                when first_success_month <= month and first_success_kg_co2e > 0
                    then (cumulative_runs_kg_co2e - first_success_kg_co2e) / first_success_kg_co2e
            end as {{ type_double() }}
        ) as retraining_to_first_run_ratio
    from cumulated

)

select * from final
