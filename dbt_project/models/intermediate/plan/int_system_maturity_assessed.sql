-- Per AI system, the evidence behind its maturity level (reporting.maturity),
-- over the twelve months up to the latest month of activity data:
--   largest run / first figure: a training system's largest run (by IT
--     energy) is at least half metered, or, without linked GPU usage, falls in
--     a month whose training figure is at least half measured or
--     provider-reported; an inference system has any measured or
--     provider-reported serving figure;
--   every month tracked: each month from the system's first in the window has
--     at least half of its operational emissions (all but embodied) measured
--     or provider-reported, or is not due yet (within the provider carbon
--     export's allowance), and none of its sources is late;
--   disclosure complete: every training run has GPU-hours, hardware, energy,
--     location and emissions; an inference system has requests counted in
--     every month (the per-request disclosure).
with

windowed as (

    select * from {{ ref('int_system_emissions_windowed') }}

),

feeds as (

    select * from {{ ref('int_system_feeds_assessed') }}

),

cadences as (

    select * from {{ ref('source_cadences') }}

),

runs as (

    select * from {{ ref('fct_training_runs') }}

),

gpu_usage as (

    select * from {{ ref('fct_gpu_usage') }}

),

requests as (

    select * from {{ ref('fct_inference_requests') }}

),

data_as_of as (

    select cast(max(loaded_at) as date) as data_as_of_date from {{ ref('fct_landing_loads') }}

),

systems as (

    select
        system_id,
        max(system_kind) as system_kind,
        min(month) as first_month,
        max(data_through_month) as data_through_month
    from windowed
    where system_id != 'unattributed'
    group by system_id

),

-- months a provider's carbon export may still be missing without being late
provider_allowances as (

    select
        windowed.system_id,
        max(cadences.late_after_days) as allowance_days
    from windowed
    inner join cadences
        on windowed.provider || '_carbon' = cadences.data_source
    group by windowed.system_id

),

months as (

    select
        system_id,
        month,
        sum(case when tier in ('measured', 'provider_reported') then location_kg_co2e else 0 end)
        / nullif(sum(location_kg_co2e), 0) as tracked_share,
        sum(
            case
                when emission_category = 'training' and tier in ('measured', 'provider_reported')
                    then location_kg_co2e
                else 0
            end
        ) / nullif(sum(case when emission_category = 'training' then location_kg_co2e else 0 end), 0)
            as training_tracked_share
    from windowed
    where emission_category != 'embodied'
    group by system_id, month

),

months_assessed as (

    select
        months.*,
        coalesce(months.tracked_share, 0) >= 0.5
        or {{ dbt.dateadd('day', 'coalesce(provider_allowances.allowance_days, 0)',
            dbt.dateadd('day', -1, dbt.dateadd('month', 1, 'months.month'))) }}
        >= data_as_of.data_as_of_date as is_tracked_or_not_due
    from months
    cross join data_as_of
    left join provider_allowances
        on months.system_id = provider_allowances.system_id

),

month_summary as (

    select
        months_assessed.system_id,
        count(*) as months_with_data,
        sum(case when months_assessed.is_tracked_or_not_due then 1 else 0 end) as months_tracked,
        min(case when not months_assessed.is_tracked_or_not_due then months_assessed.month end)
            as first_untracked_month
    from months_assessed
    group by months_assessed.system_id

),

-- the GPU model and place of each workload (a Slurm job, a CodeCarbon run)
run_hardware as (

    select
        workload_id,
        max(gpu_model) as gpu_model,
        max(coalesce(site_id, region_code)) as location
    from gpu_usage
    group by workload_id

),

windowed_runs as (

    select
        runs.*,
        usage.gpu_model,
        usage.location
    from runs
    inner join systems
        on runs.system_id = systems.system_id
    left join run_hardware as usage
        on coalesce(runs.slurm_job_key, runs.run_id) = usage.workload_id
    where runs.month >= systems.first_month and runs.month <= systems.data_through_month

),

largest_runs as (

    select
        windowed_runs.system_id,
        windowed_runs.training_run_id,
        coalesce(windowed_runs.measured_share, 0) >= 0.5
        or (
            windowed_runs.energy_basis = 'allocated_by_duration'
            and coalesce(months.training_tracked_share, 0) >= 0.5
        ) as is_measured,
        row_number() over (
            partition by windowed_runs.system_id
            order by windowed_runs.it_kwh desc, windowed_runs.training_run_id asc
        ) as size_order
    from windowed_runs
    left join months
        on
            windowed_runs.system_id = months.system_id
            and windowed_runs.month = months.month
    where windowed_runs.it_kwh is not null

),

run_summary as (

    select
        system_id,
        count(*) as runs,
        sum(
            case
                when
                    gpu_hours > 0 and it_kwh is not null and kg_co2e is not null
                    and gpu_model is not null and location is not null
                    then 1
                else 0
            end
        ) as complete_runs
    from windowed_runs
    group by system_id

),

request_months as (

    select
        requests.system_id,
        count(distinct requests.month) as months_with_requests
    from requests
    inner join systems
        on requests.system_id = systems.system_id
    where
        requests.requests > 0
        and requests.month >= systems.first_month
        and requests.month <= systems.data_through_month
    group by requests.system_id

),

serving as (

    select
        system_id,
        sum(case when tier in ('measured', 'provider_reported') then location_kg_co2e else 0 end) as tracked_kg_co2e
    from windowed
    where emission_category = 'inference'
    group by system_id

),

late as (

    select
        system_id,
        {{ dbt.listagg('feed_source', "', '", 'order by feed_source') }} as late_sources
    from (
        select distinct
            system_id,
            feed_source
        from feeds
        where is_late
    ) as late_feeds
    group by system_id

),

final as (

    select
        systems.system_id,
        systems.system_kind,
        systems.first_month,
        systems.data_through_month,
        {{ dbt.datediff('systems.first_month', 'systems.data_through_month', 'month') | trim }} + 1 as months_in_window,
        coalesce(month_summary.months_with_data, 0) as months_with_data,
        coalesce(month_summary.months_tracked, 0) as months_tracked,
        month_summary.first_untracked_month,
        late.late_sources,
        coalesce(run_summary.runs, 0) as runs,
        coalesce(run_summary.complete_runs, 0) as complete_runs,
        coalesce(request_months.months_with_requests, 0) as months_with_requests,
        case
            when systems.system_kind = 'production_inference' then coalesce(serving.tracked_kg_co2e, 0) > 0
            else coalesce(largest_runs.is_measured, false)
        end as is_first_figure_measured
    from systems
    left join month_summary
        on systems.system_id = month_summary.system_id
    left join late
        on systems.system_id = late.system_id
    left join run_summary
        on systems.system_id = run_summary.system_id
    left join request_months
        on systems.system_id = request_months.system_id
    left join serving
        on systems.system_id = serving.system_id
    left join largest_runs
        on
            systems.system_id = largest_runs.system_id
            and largest_runs.size_order = 1

)

select
    *,
    months_tracked = months_in_window and late_sources is null as is_every_month_tracked,
    case
        when system_kind = 'production_inference' then months_with_requests = months_in_window
        else runs > 0 and complete_runs = runs
    end as is_disclosure_complete
from final
