{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='month',
        on_schema_change='append_new_columns',
        post_hook="{{ delete_rows_of_other_inputs() }}",
        meta={'monthly_inputs': {
            'models': ['int_bottom_up_emissions_calculated'],
            'tables_by_month': ['int_provider_emissions_unioned'],
        }},
    )
}}
-- The providers' own cloud emissions beside this warehouse's bottom-up
-- estimate of the same billing rows, per provider cell (provider x billing
-- account x account x service x region x month; see _marts__models.yml).
-- Both sides are location-based facility emissions (IT + PUE overhead).
-- Status:
--   provider_reported                     the provider published the cell and
--                                         billing rows fall in it;
--   provider_only_no_billing              a published cell no billing row falls in;
--   provider_reported_nothing             billing rows of a month the provider
--                                         has published for their billing
--                                         account, in a cell it reports nothing
--                                         for (counted as zero);
--   estimate_only_provider_not_published  the provider has not published the
--                                         month yet: fct_emissions reports the
--                                         estimate (tier estimated) until it does.
--
-- Incremental by month, following its inputs' months (chained_monthly_state,
-- macros/incremental_months.sql): a month's rows are its cells and its
-- estimates only.
{%- set monthly = chained_monthly_state() %}

with

cells as (

    select * from {{ ref('int_provider_emissions_unioned') }}
    {{ months_filter('month', monthly) }}

),

bottom_up as (

    select * from {{ ref('int_bottom_up_emissions_calculated') }}
    where provider != 'on_prem' and method = 'location' {{ months_filter('month', monthly, 'and') }}

),

billing_groups as (

    select
        provider,
        billing_account_id,
        account_id,
        service_code,
        region_code,
        month,
        sum(kg_co2e) as estimated_location_kg,
        sum(energy_kwh) as estimated_facility_kwh
    from bottom_up
    group by provider, billing_account_id, account_id, service_code, region_code, month

),

published_months as (

    select distinct
        provider,
        billing_account_id,
        month
    from cells

),

matched_groups as (

    select
        billing_groups.*,
        cells.provider_cell_id
    from billing_groups
    left join cells
        on {{ provider_cell_matches('billing_groups', 'cells') }}

),

cell_estimates as (

    select
        provider_cell_id,
        sum(estimated_location_kg) as estimated_location_kg,
        sum(estimated_facility_kwh) as estimated_facility_kwh
    from matched_groups
    where provider_cell_id is not null
    group by provider_cell_id

),

provider_rows as (

    select
        cells.provider,
        cells.billing_account_id,
        cells.account_id,
        cells.service_code,
        cells.region_code,
        cells.month,
        cells.source as provider_source,
        cells.factor_set as provider_model_version,
        cells.has_market_based_figure as provider_reports_market_based,
        cells.location_based_kg as provider_location_kg,
        cells.market_based_kg as provider_market_kg,
        coalesce(cell_estimates.estimated_location_kg, 0.0) as estimated_location_kg,
        coalesce(cell_estimates.estimated_facility_kwh, 0.0) as estimated_facility_kwh,
        case
            when cell_estimates.provider_cell_id is null then 'provider_only_no_billing'
            else 'provider_reported'
        end as status
    from cells
    left join cell_estimates
        on cells.provider_cell_id = cell_estimates.provider_cell_id

),

estimate_rows as (

    select
        matched_groups.provider,
        matched_groups.billing_account_id,
        matched_groups.account_id,
        matched_groups.service_code,
        matched_groups.region_code,
        matched_groups.month,
        cast(null as {{ dbt.type_string() }}) as provider_source,
        cast(null as {{ dbt.type_string() }}) as provider_model_version,
        cast(null as boolean) as provider_reports_market_based,
        -- methodology.md section 4: a published month's cell the provider
        -- reports nothing for is zero
        case when published_months.month is not null then 0.0 end as provider_location_kg,
        case when published_months.month is not null then 0.0 end as provider_market_kg,
        matched_groups.estimated_location_kg,
        matched_groups.estimated_facility_kwh,
        case
            when published_months.month is not null then 'provider_reported_nothing'
            else 'estimate_only_provider_not_published'
        end as status
    from matched_groups
    left join published_months
        on
            matched_groups.provider = published_months.provider
            and matched_groups.billing_account_id = published_months.billing_account_id
            and matched_groups.month = published_months.month
    where matched_groups.provider_cell_id is null

),

unioned as (

    select * from provider_rows
    union all
    select * from estimate_rows

),

final as (

    select
        cast({{ surrogate_key([
            'provider', 'billing_account_id', 'account_id', 'service_code', 'region_code', 'month'
        ]) }} as {{ dbt.type_string() }}) as reconciliation_id,
        cast(provider as {{ dbt.type_string() }}) as provider,
        cast(billing_account_id as {{ dbt.type_string() }}) as billing_account_id,
        cast(account_id as {{ dbt.type_string() }}) as account_id,
        cast(service_code as {{ dbt.type_string() }}) as service_code,
        cast(region_code as {{ dbt.type_string() }}) as region_code,
        cast(month as date) as month,
        cast(extract(year from month) as integer) as reporting_year,
        cast(status as {{ dbt.type_string() }}) as status,
        cast(provider_source as {{ dbt.type_string() }}) as provider_source,
        cast(provider_model_version as {{ dbt.type_string() }}) as provider_model_version,
        cast(provider_reports_market_based as boolean) as provider_reports_market_based,
        cast(provider_location_kg as {{ type_double() }}) as provider_location_kg,
        cast(provider_market_kg as {{ type_double() }}) as provider_market_kg,
        cast(estimated_location_kg as {{ type_double() }}) as estimated_location_kg,
        cast(estimated_facility_kwh as {{ type_double() }}) as estimated_facility_kwh,
        cast(
            case when estimated_location_kg > 0 then provider_location_kg / estimated_location_kg end
            as {{ type_double() }}
        ) as provider_to_estimate_ratio,
        cast('{{ var("methodology_version") }}' as {{ dbt.type_string() }}) as methodology_version,
        {{ monthly_state_columns('month', monthly) }}
    from unioned

)

select * from final
{{ stored_in_month_order('month') }}
