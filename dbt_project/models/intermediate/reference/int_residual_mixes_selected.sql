-- The residual mix of every grid zone for every year (latest year not after
-- the activity year), for the uncovered part of market-based emissions.
with

residual_mix as (

    select * from {{ ref('residual_mix') }}

),

activity as (

    select * from {{ ref('int_it_energy_unioned') }}

),

years as (

    -- the years the warehouse has activity for
    select distinct cast(extract(year from month) as integer) as year
    from activity

),

ranked as (

    select
        residual_mix.grid_zone,
        years.year,
        residual_mix.year as factor_year,
        residual_mix.kg_co2e_per_kwh,
        row_number() over (
            partition by residual_mix.grid_zone, years.year
            order by {{ factor_year_preference('residual_mix.year', 'years.year') }}
        ) as preference
    from residual_mix
    cross join years

),

selected as (

    select
        grid_zone,
        year,
        factor_year,
        kg_co2e_per_kwh
    from ranked
    where preference = 1

)

select * from selected
