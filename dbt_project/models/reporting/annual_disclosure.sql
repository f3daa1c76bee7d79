-- The annual GHG disclosure of AI: year x scope x Scope 3 category, location-
-- and market-based, in tCO2e. The GHG inventory books hardware in the year it
-- was acquired (accounting_basis acquisition), not amortised.
with

emissions as (

    select
        *,
        reporting_year as year
    from {{ ref('fct_emissions') }}
    where accounting_basis in ('activity', 'acquisition')

),

loads as (

    select * from {{ ref('fct_landing_loads') }}

),

-- a line is a restatement when a frozen version of it differs (reporting.restatements)
restated_lines as (

    select
        year,
        ghg_scope,
        scope3_category,
        max(case when is_restated then 1 else 0 end) = 1 as is_restatement
    from {{ ref('int_disclosure_lines_compared') }}
    group by year, ghg_scope, scope3_category

),

data_as_of as (

    select max(loaded_at) as data_as_of from loads

),

factor_sets as (

    select distinct
        year,
        ghg_scope,
        scope3_category,
        factor_set
    from emissions
    where factor_set is not null

),

factor_set_lists as (

    select
        year,
        ghg_scope,
        scope3_category,
        {{ dbt.listagg('factor_set', "', '", 'order by factor_set') }} as factor_sets
    from factor_sets
    group by year, ghg_scope, scope3_category

),

lines as (

    select
        year,
        ghg_scope,
        scope3_category,
        sum(case when method = 'location' then kg_co2e end) / 1000 as location_based_tco2e,
        sum(case when method = 'market' then kg_co2e end) / 1000 as market_based_tco2e,
        coalesce(
            sum(case when method = 'location' and emission_category = 'unattributed' then kg_co2e end), 0
        ) / 1000 as unattributed_location_based_tco2e,
        coalesce(
            sum(case when method = 'market' and emission_category = 'unattributed' then kg_co2e end), 0
        ) / 1000 as unattributed_market_based_tco2e,
        sum(case when method = 'location' then energy_kwh end) / 1000 as energy_mwh,
        coalesce(
            sum(case when method = 'location' and tier = 'provider_reported' then kg_co2e end), 0
        ) / nullif(sum(case when method = 'location' then kg_co2e end), 0) as provider_reported_share,
        max(case when method = 'market' and market_fallback_to_location then 1 else 0 end) = 1
            as market_fallback_to_location
    from emissions
    group by year, ghg_scope, scope3_category

),

final as (

    select
        cast(lines.year as integer) as year,
        cast(lines.ghg_scope as integer) as ghg_scope,
        cast(lines.scope3_category as integer) as scope3_category,
        cast(
            case
                when lines.ghg_scope = 1 then 'Scope 1: direct emissions'
                when lines.ghg_scope = 2 then 'Scope 2: purchased electricity of own and colocated sites'
                when lines.scope3_category = 1 then 'Scope 3 category 1: purchased goods and services (cloud)'
                when lines.scope3_category = 2 then 'Scope 3 category 2: capital goods (hardware)'
                when lines.scope3_category = 3 then 'Scope 3 category 3: fuel- and energy-related activities'
                else 'Scope 3'
            end as {{ dbt.type_string() }}
        ) as scope_label,
        cast(lines.location_based_tco2e as {{ type_double() }}) as location_based_tco2e,
        cast(lines.market_based_tco2e as {{ type_double() }}) as market_based_tco2e,
        cast(lines.location_based_tco2e - lines.unattributed_location_based_tco2e as {{ type_double() }})
            as ai_attributed_location_based_tco2e,
        cast(lines.unattributed_location_based_tco2e as {{ type_double() }}) as unattributed_location_based_tco2e,
        cast(lines.market_based_tco2e - lines.unattributed_market_based_tco2e as {{ type_double() }})
            as ai_attributed_market_based_tco2e,
        cast(lines.unattributed_market_based_tco2e as {{ type_double() }}) as unattributed_market_based_tco2e,
        cast(lines.energy_mwh as {{ type_double() }}) as energy_mwh,
        cast(lines.provider_reported_share as {{ type_double() }}) as provider_reported_share,
        cast(lines.market_fallback_to_location as boolean) as market_fallback_to_location,
        cast(factor_set_lists.factor_sets as {{ dbt.type_string() }}) as factor_sets,
        cast('{{ var("methodology_version") }}' as {{ dbt.type_string() }}) as methodology_version,
        cast(data_as_of.data_as_of as timestamp) as data_as_of,
        cast(coalesce(restated_lines.is_restatement, false) as boolean) as is_restatement
    from lines
    cross join data_as_of
    left join factor_set_lists
        on
            lines.year = factor_set_lists.year
            and lines.ghg_scope = factor_set_lists.ghg_scope
            and lines.scope3_category is not distinct from factor_set_lists.scope3_category
    left join restated_lines
        on
            lines.year = restated_lines.year
            and lines.ghg_scope = restated_lines.ghg_scope
            and lines.scope3_category is not distinct from restated_lines.scope3_category

)

select * from final
