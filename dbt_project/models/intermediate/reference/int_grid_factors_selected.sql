-- The location-based grid factor of every grid zone for every year with activity: the
-- configured factor set first, then `default`; the latest year not after the
-- activity year (methodology.md section 4).
with

grid_intensity as (

    select * from {{ ref('grid_intensity') }}

),

settings as (

    select * from {{ ref('int_settings_pivoted') }}

),

activity as (

    select * from {{ ref('int_it_energy_unioned') }}

),

years as (

    -- the years the warehouse has activity for
    select distinct cast(extract(year from month) as integer) as year
    from activity

),

zones as (

    select distinct grid_zone from grid_intensity

),

ranked as (

    select
        zones.grid_zone,
        years.year,
        grid_intensity.factor_set,
        grid_intensity.year as factor_year,
        grid_intensity.kg_co2e_per_kwh,
        row_number() over (
            partition by zones.grid_zone, years.year
            order by {{ factor_year_preference(
                'grid_intensity.year', 'years.year',
                ["case when grid_intensity.factor_set = settings.grid_factor_set then 0 else 1 end"]
            ) }}
        ) as preference
    from zones
    cross join years
    cross join settings
    inner join grid_intensity
        on
            zones.grid_zone = grid_intensity.grid_zone
            and grid_intensity.factor_set in (settings.grid_factor_set, 'default')

),

selected as (

    select
        grid_zone,
        year,
        factor_set,
        factor_year,
        kg_co2e_per_kwh,
        factor_year > year as is_factor_year_after_activity
    from ranked
    where preference = 1

)

select * from selected
