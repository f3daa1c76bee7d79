-- Each reduction target of the org config against the measured trend: the
-- baseline year's emissions and the latest twelve months of data, both
-- annualised over the months with data (GHG inventory basis, the target's
-- method and scope), beside what a straight line from the baseline to the
-- target allows in the year the data reaches.
with

targets as (

    select * from {{ ref('stg_org__targets') }}

),

emissions as (

    select * from {{ ref('fct_emissions') }}
    where accounting_basis in ('activity', 'acquisition')

),

data_through as (

    select max(month) as data_through_month
    from {{ ref('fct_emissions') }}
    where accounting_basis = 'activity'

),

monthly as (

    select
        targets.target_id,
        emissions.month,
        sum(emissions.kg_co2e) as kg_co2e
    from targets
    inner join emissions
        on
            targets.method = emissions.method
            and (targets.ghg_scope is null or targets.ghg_scope = emissions.ghg_scope)
    group by targets.target_id, emissions.month

),

baselines as (

    select
        monthly.target_id,
        sum(monthly.kg_co2e) * 12 / count(distinct monthly.month) as baseline_annual_kg_co2e,
        count(distinct monthly.month) as baseline_months
    from monthly
    inner join targets
        on monthly.target_id = targets.target_id
    where extract(year from monthly.month) = targets.baseline_year
    group by monthly.target_id

),

latest as (

    select
        monthly.target_id,
        sum(monthly.kg_co2e) * 12 / count(distinct monthly.month) as latest_annual_kg_co2e,
        count(distinct monthly.month) as latest_months
    from monthly
    cross join data_through
    where
        monthly.month > {{ dbt.dateadd('month', -12, 'data_through.data_through_month') }}
        and monthly.month <= data_through.data_through_month
    group by monthly.target_id

),

tracked as (

    select
        targets.target_id,
        targets.baseline_year,
        targets.target_year,
        targets.reduction_share,
        targets.method,
        targets.ghg_scope,
        extract(year from data_through.data_through_month) as data_year,
        baselines.baseline_annual_kg_co2e,
        baselines.baseline_months,
        latest.latest_annual_kg_co2e,
        latest.latest_months,
        -- progress along the straight line from the baseline to the target, 0..1
        least(
            greatest(
                (extract(year from data_through.data_through_month) - targets.baseline_year)
                * 1.0 / (targets.target_year - targets.baseline_year),
                0
            ),
            1
        ) as path_progress
    from targets
    cross join data_through
    left join baselines
        on targets.target_id = baselines.target_id
    left join latest
        on targets.target_id = latest.target_id

),

final as (

    select
        *,
        baseline_annual_kg_co2e * (1 - reduction_share * path_progress) as allowed_annual_kg_co2e,
        baseline_annual_kg_co2e * (1 - reduction_share) as target_annual_kg_co2e,
        baseline_annual_kg_co2e is not null and latest_annual_kg_co2e is not null as is_tracked,
        latest_annual_kg_co2e <= baseline_annual_kg_co2e * (1 - reduction_share * path_progress) as is_on_track
    from tracked

)

select * from final
