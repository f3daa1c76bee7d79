-- Inference traffic per system, service and month: the functional unit of
-- per-request intensity (gCO2e per 1,000 requests).
with

requests as (

    select * from {{ ref('int_inference_requests_attributed') }}

),

monthly as (

    select
        system_id,
        service,
        usage_month as month,
        sum(requests) as requests,
        sum(tokens) as tokens,
        count(*) as hours_reported,
        sum(case when requests > 0 then 1 else 0 end) as hours_with_traffic
    from requests
    group by system_id, service, usage_month

),

final as (

    select
        cast({{ surrogate_key(['system_id', 'service', 'month']) }} as {{ dbt.type_string() }}) as inference_month_id,
        cast(month as date) as month,
        cast(system_id as {{ dbt.type_string() }}) as system_id,
        cast(service as {{ dbt.type_string() }}) as service,
        cast(requests as bigint) as requests,
        cast(tokens as bigint) as tokens,
        cast(hours_reported as bigint) as hours_reported,
        cast(hours_with_traffic as bigint) as hours_with_traffic
    from monthly

)

select * from final
