-- Every frozen disclosure version against the current facts, one cell at a
-- time. A cell is a disclosure line (year x scope x Scope 3 category x method)
-- narrowed to one month, source, provider and location: small enough that
-- what changed in it says why its figure moved (docs/methodology.md, "Frozen
-- disclosures and restatements").
--   late data           the cell's activity (IT energy, cost) changed, the cell
--                       is new or gone, or the provider's figures arrived for
--                       it or were redelivered under the same model version;
--   provider model      the provider's model version behind the cell changed;
--   factor update       same activity and tiers, but another factor set or
--                       year, or the same ones with other values (grid, PUE);
--   attribution change  same activity, shared differently among the systems.
-- The GHG inventory basis (activity and acquisition rows), as in
-- reporting.annual_disclosure.
{%- set cell_columns = [
    'year', 'disclosure_version', 'ghg_scope', 'scope3_category', 'method', 'month', 'source', 'provider',
    'region_code', 'site_id',
] %}
{%- set row_columns = [
    'system_id', 'emission_category', 'activity', 'tier', 'energy_kwh', 'kg_co2e', 'cost', 'factor_set',
    'factor_year',
] %}

with

frozen_versions as (

    select distinct
        year,
        disclosure_version
    from {{ ref('stg_disclosures__annual_disclosure_lines') }}

),

frozen_emissions as (

    select * from {{ ref('stg_disclosures__emissions') }}
    where accounting_basis in ('activity', 'acquisition')

),

-- the current facts of each frozen year, once per version of it
current_emissions as (

    select
        frozen_versions.year,
        frozen_versions.disclosure_version,
        fct_emissions.*
    from {{ ref('fct_emissions') }} as fct_emissions
    inner join frozen_versions
        on fct_emissions.reporting_year = frozen_versions.year
    where fct_emissions.accounting_basis in ('activity', 'acquisition')

),

both_sides as (

    select
        'frozen' as side,
        {{ (cell_columns + row_columns) | join(', ') }}
    from frozen_emissions
    union all
    select
        'current' as side,
        {{ (cell_columns + row_columns) | join(', ') }}
    from current_emissions

),

keyed as (

    select
        {{ surrogate_key(cell_columns) }} as cell_id,
        *,
        case when activity = 'facility_overhead' then 0 else energy_kwh end as it_kwh
    from both_sides

),

cell_sides as (

    select
        cell_id,
        side,
        {{ cell_columns | join(', ') }},
        sum(it_kwh) as it_kwh,
        sum(energy_kwh) as facility_kwh,
        sum(coalesce(cost, 0)) as cost,
        sum(kg_co2e) as kg_co2e,
        sum(case when emission_category != 'unattributed' then kg_co2e else 0 end) as ai_attributed_kg_co2e,
        sum(case when tier = 'provider_reported' then kg_co2e else 0 end) as provider_kg_co2e,
        max(case when tier = 'provider_reported' then 1 else 0 end) = 1 as has_provider_figures
    from keyed
    group by cell_id, side, {{ cell_columns | join(', ') }}

),

-- Which provider model versions and which factor sets and years a cell used.
-- `provider_reported_zero` marks billing rows of a published month the
-- provider reported nothing for: no model version of its own.
cell_factors as (

    select distinct
        cell_id,
        side,
        case when tier = 'provider_reported' then 'provider' else 'factor' end as factor_kind,
        case
            when tier = 'provider_reported' then factor_set
            else coalesce(factor_set, '-') || '@' || coalesce(cast(factor_year as {{ dbt.type_string() }}), '-')
        end as factor_key
    from keyed
    where not (tier = 'provider_reported' and coalesce(factor_set, 'provider_reported_zero') = 'provider_reported_zero')

),

cell_factor_lists as (

    select
        cell_id,
        side,
        factor_kind,
        {{ dbt.listagg('factor_key', "', '", 'order by factor_key') }} as factor_keys
    from cell_factors
    group by cell_id, side, factor_kind

),

frozen_provider_versions as (

    select * from cell_factor_lists
    where side = 'frozen' and factor_kind = 'provider'

),

current_provider_versions as (

    select * from cell_factor_lists
    where side = 'current' and factor_kind = 'provider'

),

frozen_factors as (

    select * from cell_factor_lists
    where side = 'frozen' and factor_kind = 'factor'

),

current_factors as (

    select * from cell_factor_lists
    where side = 'current' and factor_kind = 'factor'

),

system_sides as (

    select
        cell_id,
        side,
        system_id,
        sum(it_kwh) as it_kwh,
        sum(coalesce(cost, 0)) as cost
    from keyed
    group by cell_id, side, system_id

),

frozen_systems as (

    select * from system_sides
    where side = 'frozen'

),

current_systems as (

    select * from system_sides
    where side = 'current'

),

-- a system's activity in the cell differs between the two sides
system_shifts as (

    select
        coalesce(frozen_systems.cell_id, current_systems.cell_id) as cell_id,
        max(
            case
                when
                    {{ figures_differ('frozen_systems.it_kwh', 'current_systems.it_kwh') }}
                    or {{ figures_differ('frozen_systems.cost', 'current_systems.cost') }}
                    then 1
                else 0
            end
        ) = 1 as has_system_shift
    from frozen_systems
    full outer join current_systems
        on
            frozen_systems.cell_id = current_systems.cell_id
            and frozen_systems.system_id = current_systems.system_id
    group by coalesce(frozen_systems.cell_id, current_systems.cell_id)

),

frozen_cells as (

    select * from cell_sides
    where side = 'frozen'

),

current_cells as (

    select * from cell_sides
    where side = 'current'

),

cell_pairs as (

    select
        coalesce(frozen_cells.cell_id, current_cells.cell_id) as cell_id,
        {%- for column in cell_columns %}
            coalesce(frozen_cells.{{ column }}, current_cells.{{ column }}) as {{ column }},
        {%- endfor %}
        frozen_cells.cell_id is not null as is_in_frozen,
        current_cells.cell_id is not null as is_in_current,
        {%- for measure in ['it_kwh', 'facility_kwh', 'cost', 'kg_co2e', 'ai_attributed_kg_co2e', 'provider_kg_co2e'] %}
            coalesce(frozen_cells.{{ measure }}, 0) as frozen_{{ measure }},
            coalesce(current_cells.{{ measure }}, 0) as current_{{ measure }},
        {%- endfor %}
        coalesce(frozen_cells.has_provider_figures, false) as frozen_has_provider_figures,
        coalesce(current_cells.has_provider_figures, false) as current_has_provider_figures
    from frozen_cells
    full outer join current_cells
        on frozen_cells.cell_id = current_cells.cell_id

),

compared as (

    select
        cell_pairs.*,
        frozen_provider_versions.factor_keys as frozen_provider_versions,
        current_provider_versions.factor_keys as current_provider_versions,
        frozen_factors.factor_keys as frozen_factors,
        current_factors.factor_keys as current_factors,
        coalesce(system_shifts.has_system_shift, false) as has_system_shift
    from cell_pairs
    left join frozen_provider_versions
        on cell_pairs.cell_id = frozen_provider_versions.cell_id
    left join current_provider_versions
        on cell_pairs.cell_id = current_provider_versions.cell_id
    left join frozen_factors
        on cell_pairs.cell_id = frozen_factors.cell_id
    left join current_factors
        on cell_pairs.cell_id = current_factors.cell_id
    left join system_shifts
        on cell_pairs.cell_id = system_shifts.cell_id

),

changes as (

    select
        *,
        {{ figures_differ('frozen_kg_co2e', 'current_kg_co2e') }}
        or {{ figures_differ('frozen_ai_attributed_kg_co2e', 'current_ai_attributed_kg_co2e') }} as has_moved,
        is_in_frozen != is_in_current
        or {{ figures_differ('frozen_it_kwh', 'current_it_kwh') }}
        or {{ figures_differ('frozen_cost', 'current_cost') }} as has_activity_change,
        is_in_frozen and is_in_current
        and frozen_provider_versions is not null and current_provider_versions is not null
        and frozen_provider_versions != current_provider_versions as has_provider_version_change,
        coalesce(frozen_factors, '') != coalesce(current_factors, '')
        or {{ figures_differ('frozen_facility_kwh', 'current_facility_kwh') }}
        or {{ figures_differ(
            'frozen_kg_co2e - frozen_provider_kg_co2e', 'current_kg_co2e - current_provider_kg_co2e'
        ) }} as has_factor_change
    from compared

),

final as (

    select
        cell_id,
        {{ cell_columns | join(', ') }},
        is_in_frozen,
        is_in_current,
        frozen_it_kwh,
        current_it_kwh,
        frozen_facility_kwh,
        current_facility_kwh,
        frozen_cost,
        current_cost,
        frozen_kg_co2e,
        current_kg_co2e,
        frozen_ai_attributed_kg_co2e,
        current_ai_attributed_kg_co2e,
        frozen_provider_versions,
        current_provider_versions,
        frozen_factors,
        current_factors,
        has_moved,
        has_moved and (
            has_activity_change
            or frozen_has_provider_figures != current_has_provider_figures
            or (
                frozen_has_provider_figures and not has_provider_version_change
                and {{ figures_differ('frozen_provider_kg_co2e', 'current_provider_kg_co2e') }}
            )
        ) as is_late_data,
        has_moved and has_provider_version_change as is_provider_model_change,
        has_moved and is_in_frozen and is_in_current and not has_activity_change
        and frozen_has_provider_figures = current_has_provider_figures
        and has_factor_change as is_factor_update,
        has_moved and is_in_frozen and is_in_current and not has_activity_change
        and has_system_shift as is_attribution_change
    from changes

)

select * from final
