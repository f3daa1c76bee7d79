-- Model disclosure in the spirit of the Foundation Model Transparency Index
-- (methodology.md section 10): one row per trained model - a training pipeline
-- or fine-tuning workflow of the config - over every month in the warehouse:
-- hardware, GPU-hours, energy, location and grid, training emissions with the
-- failed runs' part, and how complete the disclosure is. The config does not
-- link a fine-tuning workflow to a base model, so fine-tuning is its own row.
with

systems as (

    select * from {{ ref('dim_ai_system') }}
    where kind in ('training_pipeline', 'fine_tuning_workflow')

),

emissions as (

    select * from {{ ref('fct_emissions') }}
    where accounting_basis in ('activity', 'amortised')

),

gpu_usage as (

    select * from {{ ref('fct_gpu_usage') }}

),

runs as (

    select * from {{ ref('fct_training_runs') }}

),

-- energy is on both method rows: sum it on the location rows only
system_emissions as (

    select
        system_id,
        sum(
            case
                when method = 'location' and emission_category = 'training' and activity = 'gpu'
                    then energy_kwh
                else 0
            end
        ) as training_it_kwh,
        sum(
            case
                when method = 'location' and emission_category = 'training' and activity = 'gpu_idle'
                    then energy_kwh
                else 0
            end
        ) as idle_kwh,
        sum(case when method = 'location' and activity = 'facility_overhead' then energy_kwh else 0 end)
            as facility_overhead_kwh,
        sum(case when method = 'location' then energy_kwh else 0 end) as energy_kwh,
        sum(case when method = 'location' and emission_category = 'training' then kg_co2e else 0 end)
            as training_kg_co2e,
        sum(case when method = 'market' and emission_category = 'training' then kg_co2e else 0 end)
            as training_market_kg_co2e,
        sum(
            case
                when method = 'location' and emission_category = 'training' and activity = 'gpu_idle'
                    then kg_co2e
                else 0
            end
        ) as idle_kg_co2e,
        sum(
            case when method = 'location' and emission_category = 'data_infrastructure' then kg_co2e else 0 end
        ) as data_infrastructure_kg_co2e,
        sum(case when method = 'location' and accounting_basis = 'amortised' then kg_co2e else 0 end)
            as embodied_kg_co2e,
        sum(case when method = 'location' then kg_co2e else 0 end) as total_kg_co2e,
        sum(case when method = 'market' then kg_co2e else 0 end) as total_market_kg_co2e,
        sum(
            case when method = 'location' and accounting_basis = 'activity' then energy_kwh else 0 end
        ) as activity_kwh,
        sum(
            case when method = 'location' and accounting_basis = 'activity' then kg_co2e else 0 end
        ) as activity_kg_co2e
    from emissions
    group by system_id

),

locations as (

    select distinct
        system_id,
        case
            when provider = 'on_prem' then 'on_prem:' || site_id
            else provider || ':' || region_code
        end as location,
        grid_zone
    from emissions
    where method = 'location' and accounting_basis = 'activity' and energy_kwh > 0

),

system_locations as (

    select distinct
        system_id,
        location
    from locations

),

location_lists as (

    select
        system_id,
        {{ dbt.listagg('location', "', '", 'order by location') }} as locations
    from system_locations
    group by system_id

),

system_grid_zones as (

    select distinct
        system_id,
        grid_zone
    from locations
    where grid_zone is not null

),

grid_zone_lists as (

    select
        system_id,
        {{ dbt.listagg('grid_zone', "', '", 'order by grid_zone') }} as grid_zones
    from system_grid_zones
    group by system_id

),

system_gpu_hours as (

    select
        system_id,
        sum(gpu_hours) as gpu_hours
    from gpu_usage
    group by system_id

),

system_gpu_models as (

    select distinct
        system_id,
        gpu_model
    from gpu_usage
    where gpu_model is not null and gpu_hours > 0

),

gpu_model_lists as (

    select
        system_id,
        {{ dbt.listagg('gpu_model', "', '", 'order by gpu_model') }} as gpu_models
    from system_gpu_models
    group by system_id

),

system_runs as (

    select
        system_id,
        count(*) as runs,
        sum(case when run_status = 'succeeded' then 1 else 0 end) as succeeded_runs,
        sum(case when is_failed then 1 else 0 end) as failed_runs,
        sum(case when run_status in ('succeeded', 'failed', 'killed') then 1 else 0 end) as final_runs,
        sum(coalesce(kg_co2e, 0)) as runs_kg_co2e,
        sum(case when is_failed then coalesce(kg_co2e, 0) else 0 end) as failed_runs_kg_co2e,
        min(started_at) as first_run_started_at,
        max(ended_at) as last_run_ended_at
    from runs
    group by system_id

),

system_experiments as (

    select distinct
        system_id,
        experiment_name
    from runs
    where experiment_name is not null

),

experiment_lists as (

    select
        system_id,
        {{ dbt.listagg('experiment_name', "', '", 'order by experiment_name') }} as experiment_names
    from system_experiments
    group by system_id

),

joined as (

    select
        systems.system_id,
        systems.system_name,
        systems.kind,
        systems.owner,
        experiment_lists.experiment_names,
        system_runs.first_run_started_at,
        system_runs.last_run_ended_at,
        coalesce(system_runs.runs, 0) as runs,
        coalesce(system_runs.succeeded_runs, 0) as succeeded_runs,
        coalesce(system_runs.failed_runs, 0) as failed_runs,
        coalesce(system_runs.final_runs, 0) as final_runs,
        gpu_model_lists.gpu_models,
        coalesce(system_gpu_hours.gpu_hours, 0) as gpu_hours,
        coalesce(system_emissions.training_it_kwh, 0) as training_it_kwh,
        coalesce(system_emissions.idle_kwh, 0) as idle_kwh,
        coalesce(system_emissions.facility_overhead_kwh, 0) as facility_overhead_kwh,
        coalesce(system_emissions.energy_kwh, 0) as energy_kwh,
        location_lists.locations,
        grid_zone_lists.grid_zones,
        system_emissions.activity_kwh,
        system_emissions.activity_kg_co2e,
        coalesce(system_emissions.training_kg_co2e, 0) as training_kg_co2e,
        coalesce(system_emissions.training_market_kg_co2e, 0) as training_market_kg_co2e,
        coalesce(system_emissions.idle_kg_co2e, 0) as idle_kg_co2e,
        coalesce(system_runs.runs_kg_co2e, 0) as runs_kg_co2e,
        coalesce(system_runs.failed_runs_kg_co2e, 0) as failed_runs_kg_co2e,
        coalesce(system_emissions.data_infrastructure_kg_co2e, 0) as data_infrastructure_kg_co2e,
        coalesce(system_emissions.embodied_kg_co2e, 0) as embodied_kg_co2e,
        coalesce(system_emissions.total_kg_co2e, 0) as total_kg_co2e,
        coalesce(system_emissions.total_market_kg_co2e, 0) as total_market_kg_co2e
    from systems
    left join system_emissions
        on systems.system_id = system_emissions.system_id
    left join system_gpu_hours
        on systems.system_id = system_gpu_hours.system_id
    left join gpu_model_lists
        on systems.system_id = gpu_model_lists.system_id
    left join location_lists
        on systems.system_id = location_lists.system_id
    left join grid_zone_lists
        on systems.system_id = grid_zone_lists.system_id
    left join system_runs
        on systems.system_id = system_runs.system_id
    left join experiment_lists
        on systems.system_id = experiment_lists.system_id

),

-- the eight FMTI-style fields, each 1 when the warehouse can state it
fields as (

    select
        *,
        case when gpu_models is not null then 1 else 0 end as has_hardware,
        case when gpu_hours > 0 then 1 else 0 end as has_gpu_hours,
        case when training_it_kwh > 0 then 1 else 0 end as has_energy,
        case when grid_zones is not null then 1 else 0 end as has_location,
        case when training_kg_co2e > 0 then 1 else 0 end as has_emissions,
        -- failed runs can be told apart only when run outcomes are recorded
        case when final_runs > 0 then 1 else 0 end as has_failed_runs,
        case when first_run_started_at is not null and last_run_ended_at is not null then 1 else 0 end
            as has_training_period,
        case when embodied_kg_co2e > 0 then 1 else 0 end as has_embodied
    from joined

),

final as (

    select
        cast(system_id as {{ dbt.type_string() }}) as system_id,
        cast(system_name as {{ dbt.type_string() }}) as system_name,
        cast(kind as {{ dbt.type_string() }}) as kind,
        cast(owner as {{ dbt.type_string() }}) as owner,
        cast(kind = 'fine_tuning_workflow' as {{ dbt.type_boolean() }}) as is_fine_tuning,
        cast(experiment_names as {{ dbt.type_string() }}) as experiment_names,
        cast(first_run_started_at as timestamp) as first_run_started_at,
        cast(last_run_ended_at as timestamp) as last_run_ended_at,
        cast(runs as {{ dbt.type_bigint() }}) as runs,
        cast(succeeded_runs as {{ dbt.type_bigint() }}) as succeeded_runs,
        cast(failed_runs as {{ dbt.type_bigint() }}) as failed_runs,
        cast(gpu_models as {{ dbt.type_string() }}) as gpu_models,
        cast(gpu_hours as {{ type_double() }}) as gpu_hours,
        cast(training_it_kwh as {{ type_double() }}) as training_it_kwh,
        cast(idle_kwh as {{ type_double() }}) as idle_kwh,
        cast(facility_overhead_kwh as {{ type_double() }}) as facility_overhead_kwh,
        cast(energy_kwh as {{ type_double() }}) as energy_kwh,
        cast(locations as {{ dbt.type_string() }}) as locations,
        cast(grid_zones as {{ dbt.type_string() }}) as grid_zones,
        -- kg / kWh x 1,000 = g/kWh over the system's activity rows (IT and overhead)
        cast(
            case when activity_kwh > 0 then activity_kg_co2e * 1000.0 / activity_kwh end as {{ type_double() }}
        ) as location_g_co2e_per_kwh,
        cast(training_kg_co2e as {{ type_double() }}) as training_kg_co2e,
        cast(training_market_kg_co2e as {{ type_double() }}) as training_market_kg_co2e,
        cast(idle_kg_co2e as {{ type_double() }}) as idle_kg_co2e,
        cast(failed_runs_kg_co2e as {{ type_double() }}) as failed_runs_kg_co2e,
        cast(
            case when runs_kg_co2e > 0 then failed_runs_kg_co2e / runs_kg_co2e end as {{ type_double() }}
        ) as failed_run_share,
        cast(data_infrastructure_kg_co2e as {{ type_double() }}) as data_infrastructure_kg_co2e,
        cast(embodied_kg_co2e as {{ type_double() }}) as embodied_kg_co2e,
        cast(total_kg_co2e as {{ type_double() }}) as total_kg_co2e,
        cast(total_market_kg_co2e as {{ type_double() }}) as total_market_kg_co2e,
        cast(
            (
                has_hardware + has_gpu_hours + has_energy + has_location + has_emissions
                + has_failed_runs + has_training_period + has_embodied
            ) / 8.0 as {{ type_double() }}
        ) as disclosure_completeness,
        -- ", a, b" -> "a, b": the fields the warehouse cannot state, null when none
        cast(
            nullif(
                substr(
                    {{ dbt.concat([
                        "case when has_hardware = 0 then ', hardware' else '' end",
                        "case when has_gpu_hours = 0 then ', gpu_hours' else '' end",
                        "case when has_energy = 0 then ', energy' else '' end",
                        "case when has_location = 0 then ', location' else '' end",
                        "case when has_emissions = 0 then ', emissions' else '' end",
                        "case when has_failed_runs = 0 then ', failed_runs' else '' end",
                        "case when has_training_period = 0 then ', training_period' else '' end",
                        "case when has_embodied = 0 then ', embodied' else '' end",
                    ]) }},
                    3
                ),
                ''
            ) as {{ dbt.type_string() }}
        ) as missing_disclosures
    from fields

)

select * from final
