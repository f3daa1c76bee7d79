{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='month',
        on_schema_change='append_new_columns',
        post_hook="{{ delete_rows_of_other_inputs() }}",
        meta={'monthly_inputs': {
            'models': ['int_it_energy_located'],
            'tables': ['int_grid_factors_selected', 'int_residual_mixes_selected'],
        }},
    )
}}
-- The market-based factor of each own site and month (methodology.md section 4):
-- the site's contractual instruments (MWh spread evenly over the days of their
-- validity) cover its facility energy of the month first, at their own factor;
-- the rest at the zone's residual mix, or, where none is known, at the
-- location factor, flagged market_fallback_to_location.
--
-- Incremental by month like int_it_energy_located: a site-month's factor
-- reads that month's energy and the instruments' share of that month only
-- (chained_monthly_state, macros/incremental_months.sql).
{%- set monthly = chained_monthly_state() %}

with

energy as (

    select * from {{ ref('int_it_energy_located') }}
    where provider = 'on_prem' {{ months_filter('month', monthly, 'and') }}

),

instruments as (

    select * from {{ ref('stg_org__instruments') }}

),

grid_factors as (

    select * from {{ ref('int_grid_factors_selected') }}

),

residual_mixes as (

    select * from {{ ref('int_residual_mixes_selected') }}

),

site_months as (

    select
        site_id,
        grid_zone,
        month,
        year,
        sum(it_kwh + coalesce(overhead_kwh, 0)) as facility_kwh
    from energy
    group by site_id, grid_zone, month, year

),

instrument_overlaps as (

    select
        site_months.site_id,
        site_months.month,
        instruments.mwh * 1000 as instrument_total_kwh,
        instruments.kg_co2e_per_kwh,
        instruments.valid_from,
        instruments.valid_to,
        greatest(instruments.valid_from, site_months.month) as overlap_start,
        least(instruments.valid_to, {{ dbt.dateadd('month', 1, 'site_months.month') }}) as overlap_end
    from site_months
    inner join instruments
        on
            site_months.site_id = instruments.site_id
            and {{ dbt.dateadd('month', 1, 'site_months.month') }} > instruments.valid_from
            and site_months.month < instruments.valid_to

),

instrument_days as (

    select
        site_id,
        month,
        instrument_total_kwh,
        kg_co2e_per_kwh,
        {{ dbt.datediff('valid_from', 'valid_to', 'day') | trim }} as validity_days,
        {{ dbt.datediff('overlap_start', 'overlap_end', 'day') | trim }} as days_in_month
    from instrument_overlaps

),

instrument_months as (

    select
        site_id,
        month,
        sum(instrument_total_kwh * days_in_month / validity_days) as instrument_kwh,
        sum(instrument_total_kwh * days_in_month / validity_days * kg_co2e_per_kwh) as instrument_kg
    from instrument_days
    where validity_days > 0
    group by site_id, month

),

covered as (

    select
        site_months.*,
        coalesce(instrument_months.instrument_kwh, 0) as instrument_kwh,
        coalesce(instrument_months.instrument_kg, 0) as instrument_kg,
        case
            when coalesce(instrument_months.instrument_kwh, 0) < site_months.facility_kwh
                then coalesce(instrument_months.instrument_kwh, 0)
            else site_months.facility_kwh
        end as covered_kwh,
        case
            when instrument_months.instrument_kwh > 0
                then instrument_months.instrument_kg / instrument_months.instrument_kwh
        end as instrument_kg_per_kwh,
        residual_mixes.kg_co2e_per_kwh as residual_kg_per_kwh,
        residual_mixes.factor_year as residual_factor_year,
        grid_factors.kg_co2e_per_kwh as location_kg_per_kwh,
        grid_factors.factor_set as location_factor_set,
        grid_factors.factor_year as location_factor_year
    from site_months
    left join instrument_months
        on
            site_months.site_id = instrument_months.site_id
            and site_months.month = instrument_months.month
    left join residual_mixes
        on
            site_months.grid_zone = residual_mixes.grid_zone
            and site_months.year = residual_mixes.year
    left join grid_factors
        on
            site_months.grid_zone = grid_factors.grid_zone
            and site_months.year = grid_factors.year

),

calculated as (

    select
        *,
        facility_kwh - covered_kwh as uncovered_kwh,
        coalesce(covered_kwh * instrument_kg_per_kwh, 0)
        + (facility_kwh - covered_kwh) * coalesce(residual_kg_per_kwh, location_kg_per_kwh) as market_kg,
        (facility_kwh - covered_kwh) > 0 and residual_kg_per_kwh is null as market_fallback_to_location
    from covered

),

final as (

    select
        *,
        case when facility_kwh > 0 then market_kg / facility_kwh end as market_kg_per_kwh,
        case
            when uncovered_kwh <= 0 then 'instruments'
            when residual_kg_per_kwh is not null and covered_kwh > 0 then 'instruments+residual_mix'
            when residual_kg_per_kwh is not null then 'residual_mix'
            when covered_kwh > 0 then 'instruments+' || location_factor_set
            else location_factor_set
        end as market_factor_set,
        case
            when uncovered_kwh > 0 then coalesce(residual_factor_year, location_factor_year)
        end as market_factor_year,
        {{ monthly_state_columns('month', monthly) }}
    from calculated

)

select * from final
{{ stored_in_month_order('month') }}
