-- Emissions per unit of service of each production inference system per month,
-- the SCI-style functional unit (methodology.md section 2c): gCO2e per 1,000
-- requests and per 1,000 tokens (where tokens are counted), location-based
-- (as SCI's I), with idle (warm-pool) serving energy included, and the
-- system's other operational emissions (CPU, memory, storage, network, PUE
-- overhead) and amortised embodied emissions (SCI's M) beside it.
with

emissions as (

    select * from {{ ref('fct_emissions') }}
    where method = 'location' and accounting_basis in ('activity', 'amortised')

),

requests as (

    select * from {{ ref('fct_inference_requests') }}

),

systems as (

    select * from {{ ref('dim_ai_system') }}
    where kind = 'production_inference'

),

idle_shares as (

    select * from {{ ref('int_inference_idle_shares_calculated') }}

),

system_emissions as (

    select
        emissions.system_id,
        emissions.month,
        sum(
            case
                when
                    emissions.activity = 'gpu' and emissions.emission_category = 'inference'
                    then emissions.energy_kwh
                else 0
            end
        )
            as active_kwh,
        sum(case when emissions.activity = 'gpu_idle' then emissions.energy_kwh else 0 end) as idle_kwh,
        sum(
            case
                when
                    emissions.activity = 'gpu' and emissions.emission_category = 'inference'
                    then emissions.kg_co2e
                else 0
            end
        )
            as active_kg_co2e,
        sum(case when emissions.activity = 'gpu_idle' then emissions.kg_co2e else 0 end) as idle_kg_co2e,
        sum(
            case
                when emissions.accounting_basis = 'activity' and emissions.activity not in ('gpu', 'gpu_idle')
                    then emissions.kg_co2e
                else 0
            end
        ) as other_operational_kg_co2e,
        sum(case when emissions.accounting_basis = 'amortised' then emissions.kg_co2e else 0 end)
            as embodied_kg_co2e
    from emissions
    inner join systems
        on emissions.system_id = systems.system_id
    group by emissions.system_id, emissions.month

),

system_requests as (

    select
        requests.system_id,
        requests.month,
        sum(requests.requests) as requests,
        sum(requests.tokens) as tokens
    from requests
    inner join systems
        on requests.system_id = systems.system_id
    group by requests.system_id, requests.month

),

system_months as (

    select
        system_id,
        month
    from system_emissions
    union
    select
        system_id,
        month
    from system_requests

),

joined as (

    select
        system_months.system_id,
        system_months.month,
        system_requests.requests,
        system_requests.tokens,
        coalesce(system_emissions.active_kwh, 0) as active_kwh,
        coalesce(system_emissions.idle_kwh, 0) as idle_kwh,
        coalesce(system_emissions.active_kg_co2e, 0) as active_kg_co2e,
        coalesce(system_emissions.idle_kg_co2e, 0) as idle_kg_co2e,
        coalesce(system_emissions.other_operational_kg_co2e, 0) as other_operational_kg_co2e,
        coalesce(system_emissions.embodied_kg_co2e, 0) as embodied_kg_co2e,
        idle_shares.idle_share_basis
    from system_months
    left join system_emissions
        on
            system_months.system_id = system_emissions.system_id
            and system_months.month = system_emissions.month
    left join system_requests
        on
            system_months.system_id = system_requests.system_id
            and system_months.month = system_requests.month
    left join idle_shares
        on
            system_months.system_id = idle_shares.system_id
            and system_months.month = idle_shares.month

),

totalled as (

    select
        *,
        active_kg_co2e + idle_kg_co2e as serving_kg_co2e,
        active_kg_co2e + idle_kg_co2e + other_operational_kg_co2e + embodied_kg_co2e as total_kg_co2e
    from joined

),

final as (

    select
        cast({{ surrogate_key(['system_id', 'month']) }} as {{ dbt.type_string() }}) as inference_intensity_id,
        cast(system_id as {{ dbt.type_string() }}) as system_id,
        cast(month as date) as month,
        cast(requests as bigint) as requests,
        cast(tokens as bigint) as tokens,
        cast(active_kwh as {{ type_double() }}) as active_kwh,
        cast(idle_kwh as {{ type_double() }}) as idle_kwh,
        cast(case when active_kwh + idle_kwh > 0 then idle_kwh / (active_kwh + idle_kwh) end as {{ type_double() }})
            as idle_share,
        cast(coalesce(idle_share_basis, 'minimum') as {{ dbt.type_string() }}) as idle_share_basis,
        cast(active_kg_co2e as {{ type_double() }}) as active_kg_co2e,
        cast(idle_kg_co2e as {{ type_double() }}) as idle_kg_co2e,
        cast(other_operational_kg_co2e as {{ type_double() }}) as other_operational_kg_co2e,
        cast(embodied_kg_co2e as {{ type_double() }}) as embodied_kg_co2e,
        cast(total_kg_co2e as {{ type_double() }}) as total_kg_co2e,
        -- kg -> g is x 1,000; per 1,000 requests is x 1,000 / requests
        cast(case when requests > 0 then serving_kg_co2e * 1000000.0 / requests end as {{ type_double() }})
            as serving_g_co2e_per_1k_requests,
        cast(case when requests > 0 then total_kg_co2e * 1000000.0 / requests end as {{ type_double() }})
            as g_co2e_per_1k_requests,
        cast(case when tokens > 0 then total_kg_co2e * 1000000.0 / tokens end as {{ type_double() }})
            as g_co2e_per_1k_tokens
    from totalled

)

select * from final
