-- Inference intensity, SCI-style (methodology.md section 10): per production
-- inference system and month, (operational emissions, idle / warm-pool serving
-- included, + amortised embodied) per functional unit - gCO2e per 1,000
-- requests and per 1,000,000 tokens where tokens are counted - location-based
-- (SCI's I) from fct_inference_intensity, market-based beside it.
with

intensity as (

    select * from {{ ref('fct_inference_intensity') }}

),

systems as (

    select * from {{ ref('dim_ai_system') }}

),

emissions as (

    select * from {{ ref('fct_emissions') }}
    where method = 'market' and accounting_basis in ('activity', 'amortised')

),

-- the same rows fct_inference_intensity sums on the location side
market as (

    select
        system_id,
        month,
        sum(kg_co2e) as market_total_kg_co2e
    from emissions
    group by system_id, month

),

joined as (

    select
        intensity.*,
        systems.system_name,
        coalesce(market.market_total_kg_co2e, 0) as market_total_kg_co2e
    from intensity
    left join systems
        on intensity.system_id = systems.system_id
    left join market
        on
            intensity.system_id = market.system_id
            and intensity.month = market.month

),

final as (

    select
        cast(system_id as {{ dbt.type_string() }}) as system_id,
        cast(system_name as {{ dbt.type_string() }}) as system_name,
        cast(month as date) as month,
        cast(requests as {{ dbt.type_bigint() }}) as requests,
        cast(tokens as {{ dbt.type_bigint() }}) as tokens,
        cast(active_kwh as {{ type_double() }}) as active_kwh,
        cast(idle_kwh as {{ type_double() }}) as idle_kwh,
        cast(idle_share as {{ type_double() }}) as idle_share,
        cast(idle_share_basis as {{ dbt.type_string() }}) as idle_share_basis,
        cast(active_kg_co2e as {{ type_double() }}) as active_kg_co2e,
        cast(idle_kg_co2e as {{ type_double() }}) as idle_kg_co2e,
        cast(other_operational_kg_co2e as {{ type_double() }}) as other_operational_kg_co2e,
        cast(embodied_kg_co2e as {{ type_double() }}) as embodied_kg_co2e,
        cast(total_kg_co2e as {{ type_double() }}) as total_kg_co2e,
        cast(market_total_kg_co2e as {{ type_double() }}) as market_total_kg_co2e,
        -- kg -> g is x 1,000; per 1,000 requests x 1,000 / requests; per 1,000,000 tokens
        -- x 1,000,000 / tokens
        cast(g_co2e_per_1k_requests as {{ type_double() }}) as g_co2e_per_1k_requests,
        cast(case when requests > 0 then idle_kg_co2e * 1000000.0 / requests end as {{ type_double() }})
            as idle_g_co2e_per_1k_requests,
        cast(
            case when requests > 0 then market_total_kg_co2e * 1000000.0 / requests end as {{ type_double() }}
        ) as market_g_co2e_per_1k_requests,
        cast(case when tokens > 0 then total_kg_co2e * 1000000000.0 / tokens end as {{ type_double() }})
            as g_co2e_per_1m_tokens,
        cast(
            case when tokens > 0 then market_total_kg_co2e * 1000000000.0 / tokens end as {{ type_double() }}
        ) as market_g_co2e_per_1m_tokens
    from joined

)

select * from final
