-- fct_emissions and fct_gpu_usage report the same on-premises GPU energy: both
-- read the counted rows of the precedence step. Per month, the IT energy of
-- on-premises GPU rows in fct_emissions (busy and idle capacity; the metered
-- cluster idle draw, which no workload carries, aside) equals fct_gpu_usage's.
with

emissions as (

    select
        month,
        sum(energy_kwh) as kwh
    from {{ ref('fct_emissions') }}
    where
        provider = 'on_prem'
        and method = 'location'
        and accounting_basis = 'activity'
        and activity in ('gpu', 'gpu_idle')
        and source != 'cluster_idle_energy'
    group by month

),

usage as (

    select
        month,
        sum(it_kwh) as kwh
    from {{ ref('fct_gpu_usage') }}
    where provider = 'on_prem'
    group by month

),

compared as (

    select
        coalesce(emissions.month, usage.month) as month,
        coalesce(emissions.kwh, 0) as emissions_kwh,
        coalesce(usage.kwh, 0) as usage_kwh
    from emissions
    full outer join usage
        on emissions.month = usage.month

)

select * from compared
where abs(emissions_kwh - usage_kwh) > 1e-6 * greatest(1, abs(usage_kwh))
