{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='month',
        on_schema_change='append_new_columns',
        post_hook="{{ delete_rows_of_other_inputs() }}",
        meta={'monthly_inputs': {
            'models': ['int_it_energy_located', 'int_site_market_factors_calculated'],
            'tables_by_month': ['int_provider_emissions_unioned'],
            'tables': ['int_grid_factors_selected'],
        }},
    )
}}
-- Bottom-up emissions of every energy row, location- and market-based
-- (methodology.md section 4):
--   location  kWh x the grid factor of the row's zone and year;
--   market    own sites: kWh x the site-month market factor (instruments,
--             then residual mix, else location, flagged);
--             clouds: = location, flagged market_fallback_to_location.
-- Energy is the same on both rows of a pair. Cloud rows of months the provider
-- has published are kept (is_provider_reported_month) for reconciliation;
-- fct_emissions reports the provider's figure for them instead.
--
-- Incremental by month like int_it_energy_located, after it and the site
-- market factors (chained_monthly_state, macros/incremental_months.sql).
{%- set monthly = chained_monthly_state() %}

with

energy as (

    select * from {{ ref('int_energy_rows_split_by_overhead') }}
    {{ months_filter('month', monthly) }}

),

grid_factors as (

    select * from {{ ref('int_grid_factors_selected') }}

),

site_market_factors as (

    select * from {{ ref('int_site_market_factors_calculated') }}

),

provider_cells as (

    select * from {{ ref('int_provider_emissions_unioned') }}
    {{ months_filter('month', monthly) }}

),

published_months as (

    select distinct
        provider,
        billing_account_id,
        month
    from provider_cells

),

factored as (

    select
        energy.*,
        grid_factors.kg_co2e_per_kwh as location_kg_per_kwh,
        grid_factors.factor_set as location_factor_set,
        grid_factors.factor_year as location_factor_year,
        site_market_factors.market_kg_per_kwh,
        site_market_factors.market_factor_set,
        site_market_factors.market_factor_year,
        site_market_factors.market_fallback_to_location as site_market_fallback,
        published_months.month is not null as is_provider_reported_month
    from energy
    left join grid_factors
        on
            energy.grid_zone = grid_factors.grid_zone
            and energy.year = grid_factors.year
    left join site_market_factors
        on
            energy.provider = 'on_prem'
            and energy.site_id = site_market_factors.site_id
            and energy.month = site_market_factors.month
    left join published_months
        on
            energy.provider = published_months.provider
            and energy.billing_account_id = published_months.billing_account_id
            and energy.month = published_months.month

),

location_rows as (

    select
        energy_part_id || ':location' as emission_row_id,
        factored.*,
        'location' as method,
        energy_kwh * location_kg_per_kwh as kg_co2e,
        location_factor_set as factor_set,
        location_factor_year as factor_year,
        false as market_fallback_to_location
    from factored

),

market_rows as (

    select
        energy_part_id || ':market' as emission_row_id,
        factored.*,
        'market' as method,
        case
            when provider = 'on_prem' then energy_kwh * market_kg_per_kwh
            else energy_kwh * location_kg_per_kwh
        end as kg_co2e,
        case when provider = 'on_prem' then market_factor_set else location_factor_set end as factor_set,
        case when provider = 'on_prem' then market_factor_year else location_factor_year end as factor_year,
        case when provider = 'on_prem' then coalesce(site_market_fallback, false) else true end
            as market_fallback_to_location
    from factored

),

unioned as (

    select * from location_rows
    union all
    select * from market_rows

),

final as (

    select
        *,
        'activity' as accounting_basis,
        cast(null as {{ type_double() }}) as provider_scope1_kg,
        cast(null as {{ type_double() }}) as provider_scope2_kg,
        cast(null as {{ type_double() }}) as provider_scope3_kg,
        {{ monthly_state_columns('month', monthly) }}
    from unioned

)

select * from final
{{ stored_in_month_order('month') }}
