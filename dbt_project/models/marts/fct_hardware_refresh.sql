-- The refresh cycle of owned hardware, per year x site x GPU model: servers
-- and GPUs acquired (and their embodied kgCO2e, booked in the acquisition year
-- as Scope 3 category 2 - the GHG inventory's view), servers and GPUs reaching
-- the end of their configured lifetime, and the fleet in service at year end
-- (methodology.md section 5).
with

hardware as (

    select * from {{ ref('stg_org__hardware') }}

),

embodied as (

    select * from {{ ref('int_embodied_emissions_calculated') }}
    where accounting_basis = 'acquisition' and method = 'location'

),

batches as (

    select
        hardware.hardware_id,
        hardware.site_id,
        hardware.gpu_model,
        hardware.servers,
        hardware.servers * hardware.gpus_per_server as gpus,
        hardware.lifetime_years,
        cast(extract(year from hardware.acquired_on) as integer) as acquired_year,
        -- the year the lifetime (lifetime_years x 8,760 h, as amortised) ends
        cast(
            extract(year from {{ dbt.dateadd(
                'hour', 'cast(hardware.lifetime_years * 8760 as integer)', 'cast(hardware.acquired_on as timestamp)'
            ) }}) as integer
        ) as retired_year,
        embodied.kg_co2e as embodied_kg_co2e
    from hardware
    left join embodied
        on hardware.hardware_id = embodied.hardware_id

),

events as (

    select
        acquired_year as year,
        site_id,
        gpu_model,
        1 as batches_acquired,
        servers as servers_added,
        gpus as gpus_added,
        embodied_kg_co2e as acquired_kg_co2e,
        lifetime_years,
        0 as servers_retired,
        0 as gpus_retired
    from batches
    union all
    select
        retired_year as year,
        site_id,
        gpu_model,
        0 as batches_acquired,
        0 as servers_added,
        0 as gpus_added,
        0.0 as acquired_kg_co2e,
        cast(null as {{ type_double() }}) as lifetime_years,
        servers as servers_retired,
        gpus as gpus_retired
    from batches

),

yearly as (

    select
        year,
        site_id,
        gpu_model,
        sum(batches_acquired) as batches_acquired,
        sum(servers_added) as servers_added,
        sum(gpus_added) as gpus_added,
        sum(acquired_kg_co2e) as acquired_kg_co2e,
        avg(lifetime_years) as mean_lifetime_years,
        sum(servers_retired) as servers_retired,
        sum(gpus_retired) as gpus_retired
    from events
    group by year, site_id, gpu_model

),

in_service as (

    select
        *,
        sum(gpus_added - gpus_retired) over (
            partition by site_id, gpu_model order by year rows unbounded preceding
        ) as gpus_in_service_at_year_end
    from yearly

),

final as (

    select
        cast({{ surrogate_key(['year', 'site_id', 'gpu_model']) }} as {{ dbt.type_string() }}) as hardware_refresh_id,
        cast(year as integer) as year,
        cast(site_id as {{ dbt.type_string() }}) as site_id,
        cast(gpu_model as {{ dbt.type_string() }}) as gpu_model,
        cast(batches_acquired as bigint) as batches_acquired,
        cast(servers_added as bigint) as servers_added,
        cast(gpus_added as bigint) as gpus_added,
        cast(acquired_kg_co2e as {{ type_double() }}) as acquired_kg_co2e,
        cast(mean_lifetime_years as {{ type_double() }}) as mean_lifetime_years,
        cast(servers_retired as bigint) as servers_retired,
        cast(gpus_retired as bigint) as gpus_retired,
        cast(gpus_in_service_at_year_end as bigint) as gpus_in_service_at_year_end
    from in_service

)

select * from final
