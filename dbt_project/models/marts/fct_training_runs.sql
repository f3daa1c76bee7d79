-- Training and fine-tuning runs, one row per run, failed and killed ones
-- included, with their energy and emissions (methodology.md section 6):
--   mlflow      every MLflow run; linked to its Slurm job by the run's tags
--               slurm_job_id (or slurm.job_id) and slurm_cluster (or
--               slurm.cluster; without it, the job of that id whose span holds
--               the run's start);
--   slurm       GPU jobs of training and fine-tuning systems no MLflow run
--               names: each is a run of its own;
--   codecarbon  CodeCarbon runs of those systems no Slurm job contains.
-- Status: the MLflow status once it is final (FINISHED, FAILED, KILLED), else
-- the Slurm state once final, else running. Energy: the run's job (or
-- CodeCarbon run) in the GPU-usage fact, and its emissions from the same
-- energy rows fct_emissions reports; a run with no such link (a cloud run)
-- takes a share of its system-month's training emissions not claimed by linked
-- runs, by its duration.
with

mlflow_runs as (

    select * from {{ ref('int_mlflow_runs_attributed') }}

),

slurm_jobs as (

    select * from {{ ref('int_slurm_jobs_attributed') }}

),

codecarbon_runs as (

    select * from {{ ref('int_codecarbon_runs_attributed') }}

),

gpu_usage as (

    select * from {{ ref('int_gpu_usage_deduplicated') }}
    where is_counted

),

energy_emissions as (

    select * from {{ ref('int_bottom_up_emissions_calculated') }}

),

emissions as (

    select * from {{ ref('fct_emissions') }}

),

-- runs and their links ----------------------------------------------------------

mlflow_links as (

    select
        mlflow_runs.*,
        coalesce(
            {{ map_value('mlflow_runs.tags', "'slurm_job_id'") }},
            {{ map_value('mlflow_runs.tags', "'slurm.job_id'") }}
        ) as tagged_job_id,
        coalesce(
            {{ map_value('mlflow_runs.tags', "'slurm_cluster'") }},
            {{ map_value('mlflow_runs.tags', "'slurm.cluster'") }}
        ) as tagged_cluster
    from mlflow_runs

),

job_candidates as (

    select
        mlflow_links.run_id,
        slurm_jobs.job_key,
        row_number() over (
            partition by mlflow_links.run_id
            order by
                case
                    when slurm_jobs.started_at <= mlflow_links.started_at
                        and coalesce(slurm_jobs.ended_at, mlflow_links.started_at) >= mlflow_links.started_at
                        then 0
                    else 1
                end,
                slurm_jobs.job_key
        ) as match_rank
    from mlflow_links
    inner join slurm_jobs
        on
            mlflow_links.tagged_job_id = slurm_jobs.job_id
            and (mlflow_links.tagged_cluster is null or mlflow_links.tagged_cluster = slurm_jobs.cluster)

),

mlflow_rows as (

    select
        'mlflow' as run_source,
        mlflow_links.run_id,
        case
            when mlflow_links.system_id = 'unattributed' then coalesce(slurm_jobs.system_id, 'unattributed')
            else mlflow_links.system_id
        end as system_id,
        mlflow_links.experiment_id,
        mlflow_links.experiment_name,
        mlflow_links.run_name,
        job_candidates.job_key as slurm_job_key,
        'slurm_job' as workload_type,
        job_candidates.job_key as workload_id,
        mlflow_links.status as mlflow_status,
        slurm_jobs.state as slurm_state,
        mlflow_links.started_at,
        mlflow_links.ended_at
    from mlflow_links
    left join job_candidates
        on
            mlflow_links.run_id = job_candidates.run_id
            and job_candidates.match_rank = 1
    left join slurm_jobs
        on job_candidates.job_key = slurm_jobs.job_key

),

mlflow_job_keys as (

    select distinct slurm_job_key
    from mlflow_rows
    where slurm_job_key is not null

),

codecarbon_workloads as (

    select distinct workload_id as run_id
    from gpu_usage
    where workload_type = 'codecarbon_run'

),

slurm_rows as (

    select
        'slurm' as run_source,
        slurm_jobs.job_key as run_id,
        slurm_jobs.system_id,
        cast(null as {{ dbt.type_string() }}) as experiment_id,
        cast(null as {{ dbt.type_string() }}) as experiment_name,
        slurm_jobs.job_name as run_name,
        slurm_jobs.job_key as slurm_job_key,
        'slurm_job' as workload_type,
        slurm_jobs.job_key as workload_id,
        cast(null as {{ dbt.type_string() }}) as mlflow_status,
        slurm_jobs.state as slurm_state,
        slurm_jobs.started_at,
        slurm_jobs.ended_at
    from slurm_jobs
    left join mlflow_job_keys
        on slurm_jobs.job_key = mlflow_job_keys.slurm_job_key
    where
        slurm_jobs.system_kind in ('training_pipeline', 'fine_tuning_workflow')
        and slurm_jobs.gpu_count > 0
        and slurm_jobs.started_at is not null
        and mlflow_job_keys.slurm_job_key is null

),

codecarbon_rows as (

    select
        'codecarbon' as run_source,
        codecarbon_runs.run_id,
        codecarbon_runs.system_id,
        codecarbon_runs.experiment_id,
        cast(null as {{ dbt.type_string() }}) as experiment_name,
        codecarbon_runs.project_name as run_name,
        cast(null as {{ dbt.type_string() }}) as slurm_job_key,
        'codecarbon_run' as workload_type,
        codecarbon_runs.run_id as workload_id,
        cast(null as {{ dbt.type_string() }}) as mlflow_status,
        cast(null as {{ dbt.type_string() }}) as slurm_state,
        codecarbon_runs.started_at,
        codecarbon_runs.ended_at
    from codecarbon_runs
    inner join codecarbon_workloads
        on codecarbon_runs.run_id = codecarbon_workloads.run_id
    where codecarbon_runs.system_kind in ('training_pipeline', 'fine_tuning_workflow')

),

runs as (

    select * from mlflow_rows
    union all
    select * from slurm_rows
    union all
    select * from codecarbon_rows

),

-- status --------------------------------------------------------------------

statused as (

    select
        *,
        case
            when mlflow_status = 'FINISHED' then 'succeeded'
            when mlflow_status = 'FAILED' then 'failed'
            when mlflow_status = 'KILLED' then 'killed'
            when slurm_state = 'COMPLETED' then 'succeeded'
            when slurm_state in ('FAILED', 'NODE_FAIL', 'OUT_OF_MEMORY', 'BOOT_FAIL', 'TIMEOUT', 'DEADLINE')
                then 'failed'
            when slurm_state in ('CANCELLED', 'PREEMPTED', 'REVOKED') then 'killed'
            when mlflow_status is not null or slurm_state is not null then 'running'
            else 'unknown'
        end as run_status
    from runs

),

-- energy and emissions of linked runs ---------------------------------------------

segment_emissions as (

    select
        energy_row_id,
        sum(case when method = 'location' and energy_part = 'it' then kg_co2e else 0 end) as location_kg,
        sum(case when method = 'market' and energy_part = 'it' then kg_co2e else 0 end) as market_kg,
        sum(case when method = 'location' and energy_part = 'overhead' then kg_co2e else 0 end)
            as overhead_location_kg,
        sum(case when method = 'location' and energy_part = 'overhead' then energy_kwh else 0 end) as overhead_kwh
    from energy_emissions
    group by energy_row_id

),

workload_energy as (

    select
        gpu_usage.workload_type,
        gpu_usage.workload_id,
        sum(gpu_usage.gpu_hours) as gpu_hours,
        sum(gpu_usage.energy_kwh) as it_kwh,
        sum(case when gpu_usage.tier = 'measured' then gpu_usage.energy_kwh else 0 end) as measured_kwh,
        sum(segment_emissions.overhead_kwh) as overhead_kwh,
        sum(segment_emissions.location_kg) as location_kg,
        sum(segment_emissions.market_kg) as market_kg,
        sum(segment_emissions.overhead_location_kg) as overhead_location_kg
    from gpu_usage
    left join segment_emissions
        on gpu_usage.gpu_usage_segment_id = segment_emissions.energy_row_id
    group by gpu_usage.workload_type, gpu_usage.workload_id

),

linked as (

    select
        statused.*,
        cast({{ dbt.date_trunc('month', 'statused.started_at') }} as date) as month,
        {{ dbt.datediff('statused.started_at', 'statused.ended_at', 'second') | trim }} / 3600.0 as duration_hours,
        workload_energy.gpu_hours,
        workload_energy.it_kwh,
        workload_energy.measured_kwh,
        workload_energy.overhead_kwh,
        workload_energy.location_kg,
        workload_energy.market_kg,
        workload_energy.overhead_location_kg,
        workload_energy.workload_id is not null as is_linked
    from statused
    left join workload_energy
        on
            statused.workload_type = workload_energy.workload_type
            and statused.workload_id = workload_energy.workload_id

),

-- runs without a link take the rest of their system-month, by duration ------------

system_month_training as (

    select
        system_id,
        month,
        sum(case when method = 'location' then kg_co2e else 0 end) as location_kg,
        sum(case when method = 'market' then kg_co2e else 0 end) as market_kg,
        sum(case when method = 'location' then energy_kwh else 0 end) as it_kwh
    from emissions
    where emission_category = 'training' and activity = 'gpu' and accounting_basis = 'activity'
    group by system_id, month

),

linked_totals as (

    select
        system_id,
        month,
        sum(coalesce(location_kg, 0)) as location_kg,
        sum(coalesce(market_kg, 0)) as market_kg,
        sum(coalesce(it_kwh, 0)) as it_kwh,
        sum(case when not is_linked then coalesce(duration_hours, 0) else 0 end) as unlinked_hours
    from linked
    group by system_id, month

),

allocated as (

    select
        linked.*,
        case
            when not linked.is_linked and linked_totals.unlinked_hours > 0
                then coalesce(linked.duration_hours, 0) / linked_totals.unlinked_hours
        end as duration_share,
        greatest(coalesce(system_month_training.location_kg, 0) - linked_totals.location_kg, 0) as rest_location_kg,
        greatest(coalesce(system_month_training.market_kg, 0) - linked_totals.market_kg, 0) as rest_market_kg,
        greatest(coalesce(system_month_training.it_kwh, 0) - linked_totals.it_kwh, 0) as rest_it_kwh
    from linked
    left join linked_totals
        on
            linked.system_id = linked_totals.system_id
            and linked.month = linked_totals.month
    left join system_month_training
        on
            linked.system_id = system_month_training.system_id
            and linked.month = system_month_training.month

),

measured as (

    select
        *,
        case
            when is_linked then 'gpu_usage'
            when duration_share is not null and rest_location_kg > 0 then 'allocated_by_duration'
            else 'none'
        end as energy_basis,
        case when is_linked then it_kwh else rest_it_kwh * duration_share end as run_it_kwh,
        case when is_linked then location_kg else rest_location_kg * duration_share end as run_location_kg,
        case when is_linked then market_kg else rest_market_kg * duration_share end as run_market_kg
    from allocated

),

numbered as (

    select
        *,
        row_number() over (partition by system_id order by started_at, run_source, run_id) as run_number
    from measured

),

ranked as (

    select
        *,
        min(case when run_status = 'succeeded' then run_number end) over (partition by system_id)
            as first_success_run_number
    from numbered

),

final as (

    select
        cast(run_source || ':' || run_id as {{ dbt.type_string() }}) as training_run_id,
        cast(run_id as {{ dbt.type_string() }}) as run_id,
        cast(run_source as {{ dbt.type_string() }}) as run_source,
        cast(system_id as {{ dbt.type_string() }}) as system_id,
        cast(experiment_id as {{ dbt.type_string() }}) as experiment_id,
        cast(experiment_name as {{ dbt.type_string() }}) as experiment_name,
        cast(run_name as {{ dbt.type_string() }}) as run_name,
        cast(slurm_job_key as {{ dbt.type_string() }}) as slurm_job_key,
        cast(mlflow_status as {{ dbt.type_string() }}) as mlflow_status,
        cast(slurm_state as {{ dbt.type_string() }}) as slurm_state,
        cast(run_status as {{ dbt.type_string() }}) as run_status,
        -- kept for readers of the first version: FAILED and KILLED (and their Slurm kin)
        cast(run_status in ('failed', 'killed') as boolean) as is_failed,
        cast(run_number as bigint) as run_number,
        cast(coalesce(run_number = first_success_run_number, false) as boolean) as is_first_successful_run,
        cast(started_at as timestamp) as started_at,
        cast(ended_at as timestamp) as ended_at,
        cast(duration_hours as {{ type_double() }}) as duration_hours,
        cast(month as date) as month,
        cast(gpu_hours as {{ type_double() }}) as gpu_hours,
        cast(run_it_kwh as {{ type_double() }}) as it_kwh,
        cast(case when run_it_kwh > 0 then measured_kwh / run_it_kwh end as {{ type_double() }}) as measured_share,
        cast(overhead_kwh as {{ type_double() }}) as facility_overhead_kwh,
        cast(energy_basis as {{ dbt.type_string() }}) as energy_basis,
        cast(run_location_kg as {{ type_double() }}) as kg_co2e,
        cast(run_market_kg as {{ type_double() }}) as market_kg_co2e,
        cast(overhead_location_kg as {{ type_double() }}) as facility_overhead_kg_co2e
    from ranked

)

select * from final
