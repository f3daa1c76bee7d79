-- A view: one model reads it, so the rows are never written out in between.
{{ config(materialized='view') }}

-- Each IT-energy row and its facility overhead as separate rows (methodology.md
-- section 3): the IT part keeps its activity and category; the (PUE - 1) part
-- is activity facility_overhead, category data_infrastructure (or
-- unattributed). Adds the AI category and the GHG scope of every row.
with

energy as (

    select * from {{ ref('int_it_energy_located') }}

),

it_rows as (

    select
        energy_row_id || ':it' as energy_part_id,
        energy_row_id,
        'it' as energy_part,
        source,
        provider,
        site_id,
        region_code,
        grid_zone,
        billing_account_id,
        account_id,
        service_code,
        month,
        year,
        system_id,
        system_kind,
        activity,
        tier,
        is_cost_only,
        pue,
        it_kwh as energy_kwh,
        cost,
        currency
    from energy

),

overhead_rows as (

    select
        energy_row_id || ':overhead' as energy_part_id,
        energy_row_id,
        'overhead' as energy_part,
        source,
        provider,
        site_id,
        region_code,
        grid_zone,
        billing_account_id,
        account_id,
        service_code,
        month,
        year,
        system_id,
        system_kind,
        'facility_overhead' as activity,
        tier,
        is_cost_only,
        pue,
        overhead_kwh as energy_kwh,
        -- the bill is on the IT row; overhead adds energy, not cost
        case when cost is not null then 0.0 end as cost,
        currency
    from energy
    where overhead_kwh > 0

),

split as (

    select * from it_rows
    union all
    select * from overhead_rows

),

final as (

    select
        *,
        {{ emission_category('system_id', 'system_kind', 'activity') }} as emission_category,
        {{ ghg_scope('provider', 'activity') }} as ghg_scope,
        {{ scope3_category('provider', 'activity') }} as scope3_category
    from split

)

select * from final
