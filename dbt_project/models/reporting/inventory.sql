-- The AI inventory: every production AI system, training pipeline and
-- fine-tuning workflow, where it runs, when it was seen, and its share of the
-- emissions of the last twelve months of data; plus the unattributed row.
with

systems as (

    select * from {{ ref('dim_ai_system') }}

),

emissions as (

    select * from {{ ref('fct_emissions') }}

),

data_through as (

    select max(month) as data_through_month
    from emissions
    where accounting_basis = 'activity'

),

locations as (

    select distinct
        system_id,
        case
            when provider = 'on_prem' then 'on_prem:' || site_id
            else provider || ':' || region_code
        end as location
    from emissions
    where accounting_basis = 'activity' and (energy_kwh > 0 or kg_co2e > 0)

),

runs_on as (

    select
        system_id,
        {{ dbt.listagg('location', "', '", 'order by location') }} as runs_on
    from locations
    group by system_id

),

-- per-system view: embodied emissions amortised over use, not booked at purchase
last_twelve_months as (

    select
        emissions.system_id,
        sum(emissions.kg_co2e) / 1000 as location_based_tco2e
    from emissions
    cross join data_through
    where
        emissions.method = 'location'
        and emissions.accounting_basis in ('activity', 'amortised')
        and emissions.month > {{ dbt.dateadd('month', -12, 'data_through.data_through_month') }}
    group by emissions.system_id

),

final as (

    select
        cast(systems.system_id as {{ dbt.type_string() }}) as system_id,
        cast(systems.system_name as {{ dbt.type_string() }}) as system_name,
        cast(systems.kind as {{ dbt.type_string() }}) as kind,
        cast(systems.owner as {{ dbt.type_string() }}) as owner,
        cast(runs_on.runs_on as {{ dbt.type_string() }}) as runs_on,
        cast(systems.first_seen as date) as first_seen,
        cast(systems.last_seen as date) as last_seen,
        cast(
            case
                when systems.last_seen > {{ dbt.dateadd('month', -3, 'data_through.data_through_month') }}
                    then 'active'
                else 'inactive'
            end as {{ dbt.type_string() }}
        ) as status,
        cast(data_through.data_through_month as date) as data_through_month,
        cast(coalesce(last_twelve_months.location_based_tco2e, 0) as {{ type_double() }}) as location_based_tco2e_12m,
        cast(
            coalesce(last_twelve_months.location_based_tco2e, 0)
            / nullif(sum(last_twelve_months.location_based_tco2e) over (), 0) as {{ type_double() }}
        ) as share_of_location_based_tco2e_12m
    from systems
    cross join data_through
    left join runs_on
        on systems.system_id = runs_on.system_id
    left join last_twelve_months
        on systems.system_id = last_twelve_months.system_id

)

select * from final
