-- Every place energy is used has a grid zone and a location-based factor for
-- the year. A row here names what to add: a cloud region missing from
-- seeds/cloud_regions.csv, or a zone missing from seeds/grid_intensity.csv.
with

energy as (

    select * from {{ ref('int_it_energy_located') }}

),

grid_factors as (

    select * from {{ ref('int_grid_factors_selected') }}

),

locations as (

    select distinct
        energy.provider,
        energy.region_code,
        energy.site_id,
        energy.grid_zone,
        energy.year,
        grid_factors.kg_co2e_per_kwh
    from energy
    left join grid_factors
        on
            energy.grid_zone = grid_factors.grid_zone
            and energy.year = grid_factors.year

)

select
    provider,
    region_code,
    site_id,
    grid_zone,
    year,
    case
        when site_id is null and provider = 'on_prem'
            then 'on-premises usage of no configured cluster: add it, its hosts or sources.codecarbon.cluster'
        when grid_zone is null and provider = 'on_prem' then 'site without a grid_zone in the org config'
        when grid_zone is null then 'region missing from seeds/cloud_regions.csv'
        else 'zone missing from seeds/grid_intensity.csv'
    end as what_to_add
from locations
where grid_zone is null or kg_co2e_per_kwh is null
