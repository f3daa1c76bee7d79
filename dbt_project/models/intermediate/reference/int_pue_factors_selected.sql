-- The PUE of every provider x region (`*` = fleet) for every year from the pue
-- seed: the region's own figure before the fleet's; the latest year not after
-- the activity year (methodology.md section 3).
with

pue as (

    select * from {{ ref('pue') }}

),

activity as (

    select * from {{ ref('int_it_energy_unioned') }}

),

years as (

    -- the years the warehouse has activity for
    select distinct cast(extract(year from month) as integer) as year
    from activity

),

locations as (

    select distinct
        provider,
        region_code
    from pue

),

ranked as (

    select
        locations.provider,
        locations.region_code,
        years.year,
        pue.region_code as factor_region_code,
        pue.year as factor_year,
        pue.pue,
        row_number() over (
            partition by locations.provider, locations.region_code, years.year
            order by {{ factor_year_preference(
                'pue.year', 'years.year',
                ["case when pue.region_code = locations.region_code then 0 else 1 end"]
            ) }}
        ) as preference
    from locations
    cross join years
    inner join pue
        on
            locations.provider = pue.provider
            and pue.region_code in (locations.region_code, '*')

),

selected as (

    select
        provider,
        region_code,
        year,
        factor_region_code,
        factor_year,
        pue
    from ranked
    where preference = 1

)

select * from selected
