{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='month',
        on_schema_change='append_new_columns',
        post_hook="{{ delete_rows_of_other_inputs() }}",
        meta={'monthly_inputs': {
            'models': ['int_it_energy_located'],
            'tables_by_month': ['int_provider_emissions_unioned'],
        }},
    )
}}
-- Provider-reported cloud emissions shared among AI systems (methodology.md
-- section 4). A provider figure is authoritative for its cell (provider x
-- billing account x account/project x service x region x month; a service or
-- region `*` covers all of them - Azure). The billing
-- rows of the cell share it by cost (or by estimated energy when the config's
-- allocation_basis is `usage`); cost-only rows take no share. A cell no
-- billing row can take goes whole to `unattributed`, so allocation conserves
-- every cell total. In a month the provider has published, billing rows of
-- cells it reports nothing for get zero. Each part's share is split into IT
-- and facility overhead by the part's PUE, like bottom-up rows, and the
-- provider's scope 1 / 2 / 3 split is kept beside it. Rows keep the source of
-- their billing rows (tier provider_reported says whose figure it is); a cell
-- without billing rows keeps the export's name.
--
-- Incremental by month, following its inputs' months (chained_monthly_state,
-- macros/incremental_months.sql): a month's rows are its cells and its
-- billing rows only.
{%- set monthly = chained_monthly_state() %}

with

cells as (

    select * from {{ ref('int_provider_emissions_unioned') }}
    {{ months_filter('month', monthly) }}

),

energy as (

    select * from {{ ref('int_it_energy_located') }}
    where provider != 'on_prem' {{ months_filter('month', monthly, 'and') }}

),

settings as (

    select * from {{ ref('int_settings_pivoted') }}

),

cloud_regions as (

    select * from {{ ref('cloud_regions') }}

),

methods as (

    select 'location' as method
    union all
    select 'market' as method

),

published_months as (

    select distinct
        provider,
        billing_account_id,
        month
    from cells

),

published_parts as (

    select
        energy.*,
        cells.provider_cell_id,
        case
            when energy.is_cost_only then 0
            when settings.allocation_basis = 'usage' then energy.it_kwh
            else energy.cost
        end as raw_weight
    from energy
    inner join published_months
        on
            energy.provider = published_months.provider
            and energy.billing_account_id = published_months.billing_account_id
            and energy.month = published_months.month
    cross join settings
    left join cells
        on {{ provider_cell_matches('energy', 'cells') }}

),

cell_weights as (

    select
        provider_cell_id,
        sum(case when raw_weight > 0 then raw_weight else 0 end) as cell_weight
    from published_parts
    where provider_cell_id is not null
    group by provider_cell_id

),

shares as (

    select
        published_parts.*,
        case
            when cell_weights.cell_weight > 0 and published_parts.raw_weight > 0
                then published_parts.raw_weight / cell_weights.cell_weight
            else 0
        end as allocation_share
    from published_parts
    left join cell_weights
        on published_parts.provider_cell_id = cell_weights.provider_cell_id

),

part_figures as (

    select
        shares.*,
        methods.method,
        cells.factor_set,
        -- Azure publishes no market-based figure: its one figure on both methods
        methods.method = 'market' and not coalesce(cells.has_market_based_figure, true)
            as market_fallback_to_location,
        shares.allocation_share * coalesce(
            case when methods.method = 'location' then cells.location_based_kg else cells.market_based_kg end, 0
        ) as part_kg,
        shares.allocation_share * coalesce(cells.scope1_kg, 0) as part_scope1_kg,
        shares.allocation_share * coalesce(
            case
                when methods.method = 'location' then cells.scope2_location_based_kg
                else cells.scope2_market_based_kg
            end,
            0
        ) as part_scope2_kg,
        shares.allocation_share * coalesce(
            case
                when methods.method = 'location' then cells.scope3_location_based_kg
                else cells.scope3_market_based_kg
            end,
            0
        ) as part_scope3_kg,
        -- deliveries with totals only (older AWS models) have no scope split
        cells.provider_cell_id is not null and cells.scope1_kg is null as is_scope_split_missing
    from shares
    cross join methods
    left join cells
        on shares.provider_cell_id = cells.provider_cell_id

),

split_parts as (

    select
        energy_row_id || ':it:' || method as allocation_row_id,
        part_figures.*,
        activity as emission_activity,
        it_kwh as energy_kwh,
        cost as emission_cost,
        1 / pue as figure_share
    from part_figures
    union all
    select
        energy_row_id || ':overhead:' || method as allocation_row_id,
        part_figures.*,
        'facility_overhead' as emission_activity,
        overhead_kwh as energy_kwh,
        case when cost is not null then 0.0 end as emission_cost,
        (pue - 1) / pue as figure_share
    from part_figures
    where pue > 1 and (overhead_kwh > 0 or part_kg > 0)

),

allocated_rows as (

    select
        allocation_row_id,
        provider_cell_id,
        source,
        provider,
        site_id,
        region_code,
        grid_zone,
        billing_account_id,
        account_id,
        service_code,
        month,
        year,
        system_id,
        system_kind,
        emission_activity as activity,
        method,
        energy_kwh,
        emission_cost as cost,
        currency,
        part_kg * figure_share as kg_co2e,
        case when not is_scope_split_missing then part_scope1_kg * figure_share end as provider_scope1_kg,
        case when not is_scope_split_missing then part_scope2_kg * figure_share end as provider_scope2_kg,
        case when not is_scope_split_missing then part_scope3_kg * figure_share end as provider_scope3_kg,
        coalesce(factor_set, 'provider_reported_zero') as factor_set,
        market_fallback_to_location
    from split_parts

),

unallocated_cells as (

    select
        cells.provider_cell_id || ':unallocated:' || methods.method as allocation_row_id,
        cells.provider_cell_id,
        cells.source,
        cells.provider,
        cast(null as {{ dbt.type_string() }}) as site_id,
        cells.region_code,
        cloud_regions.grid_zone,
        cells.billing_account_id,
        cells.account_id,
        cells.service_code,
        cells.month,
        cells.year,
        'unattributed' as system_id,
        cast(null as {{ dbt.type_string() }}) as system_kind,
        'other' as activity,
        methods.method,
        0.0 as energy_kwh,
        0.0 as cost,
        cast(null as {{ dbt.type_string() }}) as currency,
        case when methods.method = 'location' then cells.location_based_kg else cells.market_based_kg end as kg_co2e,
        cells.scope1_kg as provider_scope1_kg,
        case
            when methods.method = 'location' then cells.scope2_location_based_kg else cells.scope2_market_based_kg
        end as provider_scope2_kg,
        case
            when methods.method = 'location' then cells.scope3_location_based_kg else cells.scope3_market_based_kg
        end as provider_scope3_kg,
        cells.factor_set,
        methods.method = 'market' and not coalesce(cells.has_market_based_figure, true)
            as market_fallback_to_location
    from cells
    cross join methods
    left join cell_weights
        on cells.provider_cell_id = cell_weights.provider_cell_id
    left join cloud_regions
        on
            cells.provider = cloud_regions.provider
            and cells.region_code = cloud_regions.region_code
    where coalesce(cell_weights.cell_weight, 0) = 0

),

unioned as (

    select * from allocated_rows
    union all
    select * from unallocated_cells

),

final as (

    select
        *,
        {{ emission_category('system_id', 'system_kind', 'activity') }} as emission_category,
        {{ ghg_scope('provider', 'activity') }} as ghg_scope,
        {{ scope3_category('provider', 'activity') }} as scope3_category,
        'provider_reported' as tier,
        'activity' as accounting_basis,
        year as factor_year,
        {{ monthly_state_columns('month', monthly) }}
    from unioned

)

select * from final
{{ stored_in_month_order('month') }}
