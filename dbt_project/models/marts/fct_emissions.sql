{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='month',
        on_schema_change='append_new_columns',
        post_hook="{{ delete_rows_of_other_inputs() }}",
        meta={'monthly_inputs': {
            'models': ['int_bottom_up_emissions_calculated', 'int_provider_emissions_allocated'],
            'tables_by_month': ['int_embodied_emissions_calculated', 'int_inference_idle_shares_calculated'],
        }},
    )
}}
-- Emissions of the organisation's AI systems mapped to the GHG Protocol: one
-- row per system x month x category x activity x scope x method x tier x
-- accounting basis x source x location (see _marts__models.yml).
--
-- Incremental by month, following its inputs' months (chained_monthly_state,
-- macros/incremental_months.sql): a month's rows are its rows of each input.
-- Embodied rows run to the latest month of activity data: a new month adds
-- the embodied model's rows of that month, which recompute it here.
{%- set monthly = chained_monthly_state() %}
{%- set descriptive_columns = [
    'month', 'system_id', 'emission_category', 'activity', 'ghg_scope', 'scope3_category', 'method',
    'tier', 'accounting_basis', 'source', 'provider', 'region_code', 'site_id', 'grid_zone', 'currency',
    'factor_set', 'factor_year', 'market_fallback_to_location',
] -%}
{%- set measure_columns = [
    'energy_kwh', 'kg_co2e', 'cost', 'provider_scope1_kg', 'provider_scope2_kg', 'provider_scope3_kg',
] -%}
{%- set sums = [] -%}
{%- for column in measure_columns -%}
    {%- do sums.append('sum(' ~ column ~ ') as ' ~ column) -%}
{%- endfor %}
{#- Inference serving energy split into its active and idle parts (every
    measure of the row scaled by the share; activity gpu_idle for the idle one). -#}
{%- set active_part = [] -%}
{%- set idle_part = [] -%}
{%- for column in descriptive_columns -%}
    {%- do active_part.append('serving.' ~ column) -%}
    {%- do idle_part.append("'gpu_idle' as activity" if column == 'activity' else 'serving.' ~ column) -%}
{%- endfor -%}
{%- for column in measure_columns -%}
    {%- do active_part.append('serving.' ~ column ~ ' * (1 - serving.idle_share) as ' ~ column) -%}
    {%- do idle_part.append('serving.' ~ column ~ ' * serving.idle_share as ' ~ column) -%}
{%- endfor %}

with

bottom_up as (

    select * from {{ ref('int_bottom_up_emissions_calculated') }}
    -- the provider's own figure replaces the estimate once it is published
    where not is_provider_reported_month {{ months_filter('month', monthly, 'and') }}

),

provider_reported as (

    select * from {{ ref('int_provider_emissions_allocated') }}
    {{ months_filter('month', monthly) }}

),

embodied as (

    select * from {{ ref('int_embodied_emissions_calculated') }}
    {{ months_filter('month', monthly) }}

),

inference_idle_shares as (

    select * from {{ ref('int_inference_idle_shares_calculated') }}
    {{ months_filter('month', monthly) }}

),

settings as (

    select * from {{ ref('int_settings_pivoted') }}

),

unioned as (

    select {{ (descriptive_columns + measure_columns) | join(', ') }}
    from bottom_up
    union all
    select {{ (descriptive_columns + measure_columns) | join(', ') }}
    from provider_reported
    union all
    select {{ (descriptive_columns + measure_columns) | join(', ') }}
    from embodied

),

serving as (

    -- methodology.md section 2c: a production inference system's GPU energy
    -- is active serving and idle (warm-pool) capacity, by the month's idle share
    select
        unioned.*,
        coalesce(inference_idle_shares.idle_share, settings.inference_min_idle_share) as idle_share
    from unioned
    cross join settings
    left join inference_idle_shares
        on
            unioned.system_id = inference_idle_shares.system_id
            and unioned.month = inference_idle_shares.month
    where unioned.emission_category = 'inference' and unioned.activity = 'gpu'

),

idle_split as (

    select {{ active_part | join(', ') }}
    from serving
    union all
    select {{ idle_part | join(', ') }}
    from serving
    where serving.idle_share > 0
    union all
    select {{ (descriptive_columns + measure_columns) | join(', ') }}
    from unioned
    where not (unioned.emission_category = 'inference' and unioned.activity = 'gpu')

),

aggregated as (

    select
        {{ (descriptive_columns + sums) | join(', ') }}
    from idle_split
    group by {{ descriptive_columns | join(', ') }}

),

final as (

    select
        cast({{ surrogate_key(descriptive_columns) }} as {{ dbt.type_string() }}) as emission_id,
        cast(month as date) as month,
        cast(extract(year from month) as integer) as reporting_year,
        cast(system_id as {{ dbt.type_string() }}) as system_id,
        cast(emission_category as {{ dbt.type_string() }}) as emission_category,
        cast(activity as {{ dbt.type_string() }}) as activity,
        cast(ghg_scope as integer) as ghg_scope,
        cast(scope3_category as integer) as scope3_category,
        cast(method as {{ dbt.type_string() }}) as method,
        cast(tier as {{ dbt.type_string() }}) as tier,
        cast(accounting_basis as {{ dbt.type_string() }}) as accounting_basis,
        cast(source as {{ dbt.type_string() }}) as source,
        cast(provider as {{ dbt.type_string() }}) as provider,
        cast(region_code as {{ dbt.type_string() }}) as region_code,
        cast(site_id as {{ dbt.type_string() }}) as site_id,
        cast(grid_zone as {{ dbt.type_string() }}) as grid_zone,
        cast(currency as {{ dbt.type_string() }}) as currency,
        cast(energy_kwh as {{ type_double() }}) as energy_kwh,
        cast(kg_co2e as {{ type_double() }}) as kg_co2e,
        cast(cost as {{ type_double() }}) as cost,
        cast(provider_scope1_kg as {{ type_double() }}) as provider_scope1_kg,
        cast(provider_scope2_kg as {{ type_double() }}) as provider_scope2_kg,
        cast(provider_scope3_kg as {{ type_double() }}) as provider_scope3_kg,
        cast(factor_set as {{ dbt.type_string() }}) as factor_set,
        cast(factor_year as integer) as factor_year,
        cast(market_fallback_to_location as boolean) as market_fallback_to_location,
        cast('{{ var("methodology_version") }}' as {{ dbt.type_string() }}) as methodology_version,
        {{ monthly_state_columns('month', monthly) }}
    from aggregated

)

select * from final
{{ stored_in_month_order('month') }}
