-- The maturity of the organisation's AI carbon accounting on the 1-5 rubric,
-- one row for the organisation and one per AI system seen in the last twelve
-- months of data, each with the reason for its level and what the next level
-- needs. A level holds only when every level below it holds:
--   L1 nothing measured;
--   L2 the largest training run measured (an inference system: its serving
--      measured or provider-reported) and a first-cut estimate exists;
--   L3 every month measured or provider-reported, sources refreshed on time;
--   L4 disclosure complete (every training run: GPU-hours, hardware, energy,
--      location, emissions; inference: requests counted every month);
--   L5 reduction targets configured and tracked against the measured trend.
-- The organisation is at L2 when every training system's largest run is
-- measured (every system's first figure when it trains nothing), and at L3 or
-- L4 when every system is.
with

assessed as (

    select * from {{ ref('int_system_maturity_assessed') }}

),

targets as (

    select * from {{ ref('int_targets_tracked') }}

),

target_summary as (

    select
        count(*) as targets,
        coalesce(max(case when is_tracked then 1 else 0 end), 0) = 1 as is_target_tracked,
        min(case when is_on_track then 1 else 0 end) = 1 as is_on_track,
        {{ dbt.listagg(
            "target_id || ': latest 12 months ' || cast(round(latest_annual_kg_co2e / 1000, 1) as "
            ~ dbt.type_string() ~ ") || ' t, allowed ' || cast(round(allowed_annual_kg_co2e / 1000, 1) as "
            ~ dbt.type_string() ~ ") || ' t (' || case when is_on_track then 'on track' else 'off track' end || ')'",
            "'; '", 'order by target_id'
        ) }} as target_status
    from targets
    where is_tracked

),

target_counts as (

    select count(*) as configured_targets from targets

),

systems as (

    select
        assessed.*,
        target_summary.is_target_tracked,
        target_summary.is_on_track,
        target_summary.target_status,
        target_counts.configured_targets,
        assessed.is_first_figure_measured as holds_l2,
        assessed.is_first_figure_measured and assessed.is_every_month_tracked as holds_l3,
        assessed.is_first_figure_measured and assessed.is_every_month_tracked
        and assessed.is_disclosure_complete as holds_l4
    from assessed
    cross join target_counts
    left join target_summary
        on true

),

system_levels as (

    select
        *,
        1
        + case when holds_l2 then 1 else 0 end
        + case when holds_l3 then 1 else 0 end
        + case when holds_l4 then 1 else 0 end
        + case when holds_l4 and coalesce(is_target_tracked, false) then 1 else 0 end as maturity_level
    from systems

),

organisation as (

    select
        count(*) as systems,
        sum(case when system_kind != 'production_inference' then 1 else 0 end) as training_systems,
        sum(
            case when system_kind != 'production_inference' and holds_l2 then 1 else 0 end
        ) as training_systems_measured,
        sum(case when holds_l2 then 1 else 0 end) as systems_l2,
        sum(case when holds_l3 then 1 else 0 end) as systems_l3,
        sum(case when holds_l4 then 1 else 0 end) as systems_l4,
        {{ dbt.listagg("case when not holds_l3 then system_id end", "', '", 'order by system_id') }}
            as systems_below_l3,
        {{ dbt.listagg("case when not holds_l4 then system_id end", "', '", 'order by system_id') }}
            as systems_below_l4,
        {{ dbt.listagg(
            "case when not holds_l2 and system_kind != 'production_inference' then system_id end",
            "', '", 'order by system_id'
        ) }} as training_systems_unmeasured,
        max(is_target_tracked) as is_target_tracked,
        max(is_on_track) as is_on_track,
        max(target_status) as target_status,
        max(configured_targets) as configured_targets
    from system_levels

),

organisation_holds as (

    select
        *,
        systems > 0
        and (
            (training_systems > 0 and training_systems_measured = training_systems)
            or (training_systems = 0 and systems_l2 > 0)
        ) as holds_l2
    from organisation

),

organisation_level as (

    select
        *,
        holds_l2 and systems_l3 = systems as holds_l3,
        holds_l2 and systems_l4 = systems as holds_l4,
        1
        + case when holds_l2 then 1 else 0 end
        + case when holds_l2 and systems_l3 = systems then 1 else 0 end
        + case when holds_l2 and systems_l4 = systems then 1 else 0 end
        + case when holds_l2 and systems_l4 = systems and coalesce(is_target_tracked, false) then 1 else 0 end
            as maturity_level
    from organisation_holds

),

target_next_step as (

    select
        case
            when configured_targets = 0
                then 'configure a reduction target (org config targets:) and track it against the trend'
            else 'give the target a baseline year that has data in the warehouse'
        end as next_step
    from target_counts

),

organisation_row as (

    select
        'organisation' as maturity_scope,
        cast(null as {{ dbt.type_string() }}) as system_id,
        cast(null as {{ dbt.type_string() }}) as system_kind,
        organisation_level.maturity_level,
        case organisation_level.maturity_level
            when 1
                then coalesce(
                        'largest training run not measured: ' || organisation_level.training_systems_unmeasured,
                        'no system with a measured or provider-reported figure'
                    )
            when 2
                then 'the largest training runs are measured and a first-cut estimate exists; '
                    || cast(organisation_level.systems_l3 as {{ dbt.type_string() }}) || ' of '
                    || cast(organisation_level.systems as {{ dbt.type_string() }})
                    || ' systems tracked every month'
            when 3 then 'every system measured or provider-reported every month, sources on time'
            when 4 then 'every system tracked every month and its disclosure complete'
            else 'targets set and tracked against the measured trend: ' || organisation_level.target_status
        end as reason,
        case organisation_level.maturity_level
            when 1
                then coalesce(
                        'L2: meter the largest training runs (DCGM, Slurm energy accounting or CodeCarbon) of '
                        || organisation_level.training_systems_unmeasured,
                        'L2: measure one system (DCGM) or connect its provider carbon export'
                    )
            when 2 then 'L3: bring every system to L3 (below: ' || organisation_level.systems_below_l3 || ')'
            when 3
                then 'L4: complete the disclosure of every system (below: '
                    || organisation_level.systems_below_l4 || ')'
            when 4 then 'L5: ' || target_next_step.next_step
        end as next_step,
        organisation_level.holds_l2 as is_first_figure_measured,
        organisation_level.holds_l3 as is_every_month_tracked,
        organisation_level.holds_l4 as is_disclosure_complete,
        coalesce(organisation_level.is_target_tracked, false) as is_target_tracked,
        organisation_level.is_on_track,
        organisation_level.target_status,
        cast(null as integer) as months_in_window,
        cast(null as integer) as months_tracked,
        cast(null as date) as first_untracked_month,
        cast(null as {{ dbt.type_string() }}) as late_sources,
        cast(null as integer) as runs,
        cast(null as integer) as complete_runs,
        0 as row_order
    from organisation_level
    cross join target_next_step

),

system_rows as (

    select
        'system' as maturity_scope,
        system_levels.system_id,
        system_levels.system_kind,
        system_levels.maturity_level,
        case system_levels.maturity_level
            when 1
                then
                    case
                        when system_levels.system_kind = 'production_inference'
                            then 'no serving energy measured or provider-reported'
                        else 'largest training run not measured'
                    end
            when 2
                then
                    case
                        when system_levels.system_kind = 'production_inference'
                            then 'serving measured or provider-reported; first-cut estimate exists'
                        else 'largest training run measured; first-cut estimate exists'
                    end
                    || '; ' || cast(system_levels.months_tracked as {{ dbt.type_string() }}) || ' of '
                    || cast(system_levels.months_in_window as {{ dbt.type_string() }}) || ' months tracked'
            when 3 then 'every month measured or provider-reported, sources on time'
            when 4
                then
                    case
                        when system_levels.system_kind = 'production_inference'
                            then 'tracked every month; requests counted every month'
                        else 'tracked every month; every run disclosed'
                    end
            else 'disclosure complete; targets set and tracked: ' || system_levels.target_status
        end as reason,
        case system_levels.maturity_level
            when 1
                then
                    case
                        when system_levels.system_kind = 'production_inference'
                            then 'L2: connect the provider carbon export or DCGM for its serving GPUs'
                        else 'L2: meter its largest run (DCGM, Slurm energy accounting or CodeCarbon)'
                    end
            when 2
                then 'L3: '
                    || coalesce(
                        cast(system_levels.months_with_data - system_levels.months_tracked as {{ dbt.type_string() }})
                        || ' of ' || cast(system_levels.months_in_window as {{ dbt.type_string() }})
                        || ' months mostly estimated (first '
                        || cast(system_levels.first_untracked_month as {{ dbt.type_string() }}) || ')',
                        ''
                    )
                    || case
                        when system_levels.first_untracked_month is not null and system_levels.late_sources is not null
                            then '; '
                        else ''
                    end
                    || coalesce('late: ' || system_levels.late_sources, '')
                    || case
                        when system_levels.months_with_data < system_levels.months_in_window
                            then '; months without data in the window'
                        else ''
                    end
            when 3
                then
                    case
                        when system_levels.system_kind = 'production_inference'
                            then 'L4: count requests every month ('
                                || cast(system_levels.months_with_requests as {{ dbt.type_string() }}) || ' of '
                                || cast(system_levels.months_in_window as {{ dbt.type_string() }}) || ')'
                        else 'L4: disclose every run with GPU-hours, hardware, energy, location and emissions ('
                            || cast(system_levels.complete_runs as {{ dbt.type_string() }}) || ' of '
                            || cast(system_levels.runs as {{ dbt.type_string() }}) || ' complete)'
                    end
            when 4 then 'L5: ' || target_next_step.next_step
        end as next_step,
        system_levels.holds_l2 as is_first_figure_measured,
        system_levels.is_every_month_tracked,
        system_levels.is_disclosure_complete,
        coalesce(system_levels.is_target_tracked, false) as is_target_tracked,
        system_levels.is_on_track,
        system_levels.target_status,
        system_levels.months_in_window,
        system_levels.months_tracked,
        system_levels.first_untracked_month,
        system_levels.late_sources,
        system_levels.runs,
        system_levels.complete_runs,
        1 as row_order
    from system_levels
    cross join target_next_step

),

unioned as (

    select * from organisation_row
    union all
    select * from system_rows

),

final as (

    select
        cast(maturity_scope as {{ dbt.type_string() }}) as maturity_scope,
        cast(system_id as {{ dbt.type_string() }}) as system_id,
        cast(system_kind as {{ dbt.type_string() }}) as system_kind,
        cast(maturity_level as integer) as maturity_level,
        cast(reason as {{ dbt.type_string() }}) as reason,
        cast(next_step as {{ dbt.type_string() }}) as next_step,
        cast(is_first_figure_measured as boolean) as is_first_figure_measured,
        cast(is_every_month_tracked as boolean) as is_every_month_tracked,
        cast(is_disclosure_complete as boolean) as is_disclosure_complete,
        cast(is_target_tracked as boolean) as is_target_tracked,
        cast(is_on_track as boolean) as is_on_track,
        cast(target_status as {{ dbt.type_string() }}) as target_status,
        cast(months_in_window as integer) as months_in_window,
        cast(months_tracked as integer) as months_tracked,
        cast(first_untracked_month as date) as first_untracked_month,
        cast(late_sources as {{ dbt.type_string() }}) as late_sources,
        cast(runs as integer) as runs,
        cast(complete_runs as integer) as complete_runs,
        cast(row_order as integer) as row_order
    from unioned

)

select * from final
