-- Allocation never creates or loses emissions (DESIGN "Conservation"): for every
-- provider cell and both methods, the kg allocated to systems add up to the
-- provider's own figure for the cell. Returns the cells that do not.
with

cells as (

    select * from {{ ref('int_provider_emissions_unioned') }}

),

allocated as (

    select
        provider_cell_id,
        method,
        sum(kg_co2e) as allocated_kg
    from {{ ref('int_provider_emissions_allocated') }}
    where provider_cell_id is not null
    group by provider_cell_id, method

),

expected as (

    select
        provider_cell_id,
        'location' as method,
        location_based_kg as source_kg
    from cells
    union all
    select
        provider_cell_id,
        'market' as method,
        market_based_kg as source_kg
    from cells

),

compared as (

    select
        expected.provider_cell_id,
        expected.method,
        expected.source_kg,
        coalesce(allocated.allocated_kg, 0) as allocated_kg
    from expected
    left join allocated
        on
            expected.provider_cell_id = allocated.provider_cell_id
            and expected.method = allocated.method

)

select * from compared
where abs(source_kg - allocated_kg) > 1e-6 * greatest(1, abs(source_kg))
