{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='month',
        on_schema_change='append_new_columns',
        post_hook="{{ delete_rows_of_other_inputs() }}",
        meta={'monthly_inputs': {
            'models': ['int_it_energy_unioned'],
            'tables': ['int_pue_factors_selected'],
        }},
    )
}}
-- Where each IT-energy row draws its electricity: the grid zone (site config,
-- or the cloud region's zone) and the PUE (methodology.md section 3): the
-- site's configured PUE valid on the month's first day, else the pue seed
-- (cloud: region, then fleet; on-premises: the industry default).
--
-- Incremental by month like int_it_energy_unioned, after it
-- (chained_monthly_state, macros/incremental_months.sql).
{%- set monthly = chained_monthly_state() %}

with

energy as (

    -- the upstream's own fingerprints left out: this model stores its own
    select
        energy_row_id,
        source,
        provider,
        site_id,
        region_code,
        billing_account_id,
        account_id,
        service_code,
        month,
        system_id,
        system_kind,
        activity,
        tier,
        is_cost_only,
        it_kwh,
        cost,
        currency,
        includes_facility_overhead
    from {{ ref('int_it_energy_unioned') }}
    {{ months_filter('month', monthly) }}

),

sites as (

    select * from {{ ref('stg_org__sites') }}

),

site_pues as (

    select * from {{ ref('stg_org__site_pues') }}

),

cloud_regions as (

    select * from {{ ref('cloud_regions') }}

),

pue_factors as (

    select * from {{ ref('int_pue_factors_selected') }}

),

dated as (

    select
        *,
        cast(extract(year from month) as integer) as year
    from energy

),

located as (

    select
        dated.*,
        case when dated.provider = 'on_prem' then sites.grid_zone else cloud_regions.grid_zone end as grid_zone,
        coalesce(site_pues.pue, region_pue.pue, fleet_pue.pue) as pue,
        case when site_pues.pue is not null then 'site_config' else 'pue_seed' end as pue_source,
        case when site_pues.pue is null then coalesce(region_pue.factor_year, fleet_pue.factor_year) end
            as pue_factor_year
    from dated
    left join sites
        on dated.site_id = sites.site_id
    left join site_pues
        on
            dated.site_id = site_pues.site_id
            and dated.month >= site_pues.valid_from
            and (site_pues.valid_to is null or dated.month < site_pues.valid_to)
    left join cloud_regions
        on
            dated.provider = cloud_regions.provider
            and dated.region_code = cloud_regions.region_code
    left join pue_factors as region_pue
        on
            dated.provider = region_pue.provider
            and dated.region_code = region_pue.region_code
            and dated.year = region_pue.year
    left join pue_factors as fleet_pue
        on
            dated.provider = fleet_pue.provider
            and fleet_pue.region_code = '*'
            and dated.year = fleet_pue.year

),

final as (

    select
        *,
        -- a figure metered at the facility already holds its overhead
        case when includes_facility_overhead then 0 else it_kwh * (pue - 1) end as overhead_kwh,
        {{ monthly_state_columns('month', monthly) }}
    from located

)

select * from final
{{ stored_in_month_order('month') }}
