-- Embodied emissions of owned hardware (methodology.md section 5), two views:
--   acquisition  per server server_kg + gpus x gpu_kg (embodied_hardware seed:
--                the model's own row, else `*`), x servers, booked whole in the
--                month of acquisition: the GHG inventory's Scope 3 category 2;
--   amortised    per hour of use, the BLOOM study's rate: each server-hour
--                bears server_kg / (lifetime hours x use_share), each GPU-hour
--                gpu_kg / (lifetime hours x use_share); a system's GPU-hours on
--                the hardware's site and GPU model (int_gpu_usage_deduplicated)
--                are GPU-hours and GPU-hours / gpus_per_server server-hours.
--                What use leaves of the month's straight-line share (total x
--                the month's hours / lifetime hours) is idle capacity, booked to
--                `unattributed`; use beyond the expected share books its rate
--                in full (no negative idle). Months run to the latest month of
--                activity data.
with

hardware as (

    select * from {{ ref('stg_org__hardware') }}

),

embodied_factors as (

    select * from {{ ref('embodied_hardware') }}

),

sites as (

    select * from {{ ref('stg_org__sites') }}

),

gpu_usage as (

    select * from {{ ref('int_gpu_usage_deduplicated') }}
    where is_counted and usage_kind = 'workload'

),

energy as (

    select * from {{ ref('int_it_energy_unioned') }}

),

methods as (

    select 'location' as method
    union all
    select 'market' as method

),

hardware_totals as (

    select
        hardware.*,
        sites.grid_zone,
        coalesce(server_model_factor.kg_co2e, server_default_factor.kg_co2e) as server_kg,
        coalesce(gpu_model_factor.kg_co2e, gpu_default_factor.kg_co2e) as gpu_kg,
        hardware.servers * (
            coalesce(server_model_factor.kg_co2e, server_default_factor.kg_co2e)
            + hardware.gpus_per_server * coalesce(gpu_model_factor.kg_co2e, gpu_default_factor.kg_co2e)
        ) as total_kg,
        hardware.lifetime_years * 8760 as lifetime_hours,
        -- the BLOOM study's rates: per hour of expected use over the lifetime
        coalesce(server_model_factor.kg_co2e, server_default_factor.kg_co2e)
        / (hardware.lifetime_years * 8760 * hardware.use_share) as server_kg_per_server_hour,
        coalesce(gpu_model_factor.kg_co2e, gpu_default_factor.kg_co2e)
        / (hardware.lifetime_years * 8760 * hardware.use_share) as gpu_kg_per_gpu_hour,
        cast(hardware.acquired_on as timestamp) as life_start_at,
        {{ dbt.dateadd(
            'hour', 'cast(hardware.lifetime_years * 8760 as integer)', 'cast(hardware.acquired_on as timestamp)'
        ) }} as life_end_at
    from hardware
    left join sites
        on hardware.site_id = sites.site_id
    left join embodied_factors as server_model_factor
        on
            server_model_factor.component = 'server'
            and hardware.server_model = server_model_factor.model
    left join embodied_factors as server_default_factor
        on
            server_default_factor.component = 'server'
            and server_default_factor.model = '*'
    left join embodied_factors as gpu_model_factor
        on
            gpu_model_factor.component = 'gpu'
            and hardware.gpu_model = gpu_model_factor.model
    left join embodied_factors as gpu_default_factor
        on
            gpu_default_factor.component = 'gpu'
            and gpu_default_factor.model = '*'

),

acquisition_rows as (

    select
        hardware_id || ':acquisition' as embodied_row_id,
        hardware_id,
        site_id,
        grid_zone,
        cast({{ dbt.date_trunc('month', 'acquired_on') }} as date) as month,
        'unattributed' as system_id,
        'acquisition' as accounting_basis,
        cast(null as {{ type_double() }}) as gpu_hours,
        server_kg_per_server_hour,
        gpu_kg_per_gpu_hour,
        total_kg as kg_co2e
    from hardware_totals

),

last_activity as (

    select max(month) as last_month from energy

),

life_months as (

    {{ rows_per_month('hardware_totals', 'life_start_at', 'life_end_at') }}

),

monthly as (

    select
        life_months.*,
        {{ dbt.datediff(
            'greatest(life_start_at, cast(month_start as timestamp))',
            'least(life_end_at, ' ~ dbt.dateadd('month', 1, 'month_start') ~ ')',
            'second'
        ) }} / 3600.0 as life_hours_in_month
    from life_months
    cross join last_activity
    where life_months.month_start <= last_activity.last_month

),

amortised as (

    select
        *,
        total_kg * life_hours_in_month / lifetime_hours as monthly_kg,
        servers * gpus_per_server * life_hours_in_month as capacity_gpu_hours
    from monthly

),

group_capacity as (

    -- hardware batches of the same site and GPU model share that model's GPU-hours
    select
        site_id,
        gpu_model,
        month_start,
        sum(capacity_gpu_hours) as group_capacity_gpu_hours
    from amortised
    group by site_id, gpu_model, month_start

),

system_usage as (

    select
        site_id,
        gpu_model,
        month,
        system_id,
        sum(gpu_hours) as gpu_hours
    from gpu_usage
    where gpu_hours > 0
    group by site_id, gpu_model, month, system_id

),

system_hours as (

    select
        amortised.hardware_id,
        amortised.month_start,
        system_usage.system_id,
        system_usage.gpu_hours * amortised.capacity_gpu_hours / group_capacity.group_capacity_gpu_hours
            as gpu_hours
    from amortised
    inner join group_capacity
        on
            amortised.site_id = group_capacity.site_id
            and amortised.gpu_model = group_capacity.gpu_model
            and amortised.month_start = group_capacity.month_start
    inner join system_usage
        on
            amortised.site_id = system_usage.site_id
            and amortised.gpu_model = system_usage.gpu_model
            and amortised.month_start = system_usage.month

),

used_hours as (

    select
        hardware_id,
        month_start,
        sum(gpu_hours) as gpu_hours
    from system_hours
    group by hardware_id, month_start

),

used as (

    select
        amortised.*,
        coalesce(used_hours.gpu_hours, 0) as used_gpu_hours,
        -- a GPU-hour of use carries its GPU's rate and 1 / gpus_per_server of
        -- its server's
        coalesce(used_hours.gpu_hours, 0) * (
            amortised.gpu_kg_per_gpu_hour + amortised.server_kg_per_server_hour / amortised.gpus_per_server
        ) as used_kg
    from amortised
    left join used_hours
        on
            amortised.hardware_id = used_hours.hardware_id
            and amortised.month_start = used_hours.month_start

),

system_rows as (

    select
        used.hardware_id || ':' || cast(used.month_start as {{ dbt.type_string() }}) || ':' || system_hours.system_id
            as embodied_row_id,
        used.hardware_id,
        used.site_id,
        used.grid_zone,
        used.month_start as month,
        system_hours.system_id,
        'amortised' as accounting_basis,
        system_hours.gpu_hours,
        used.server_kg_per_server_hour,
        used.gpu_kg_per_gpu_hour,
        system_hours.gpu_hours * (used.gpu_kg_per_gpu_hour + used.server_kg_per_server_hour / used.gpus_per_server)
            as kg_co2e
    from used
    inner join system_hours
        on
            used.hardware_id = system_hours.hardware_id
            and used.month_start = system_hours.month_start

),

idle_rows as (

    select
        hardware_id || ':' || cast(month_start as {{ dbt.type_string() }}) || ':idle' as embodied_row_id,
        hardware_id,
        site_id,
        grid_zone,
        month_start as month,
        'unattributed' as system_id,
        'amortised' as accounting_basis,
        cast(null as {{ type_double() }}) as gpu_hours,
        server_kg_per_server_hour,
        gpu_kg_per_gpu_hour,
        monthly_kg - used_kg as kg_co2e
    from used
    where used_kg < monthly_kg

),

unioned as (

    select * from acquisition_rows
    union all
    select * from system_rows
    union all
    select * from idle_rows

),

final as (

    select
        unioned.embodied_row_id || ':' || methods.method as emission_row_id,
        unioned.*,
        cast(extract(year from unioned.month) as integer) as year,
        methods.method,
        'org_hardware' as source,
        'on_prem' as provider,
        cast(null as {{ dbt.type_string() }}) as region_code,
        'embodied' as activity,
        'embodied' as emission_category,
        3 as ghg_scope,
        2 as scope3_category,
        'estimated' as tier,
        cast(null as {{ dbt.type_string() }}) as currency,
        0.0 as energy_kwh,
        cast(null as {{ type_double() }}) as cost,
        cast(null as {{ type_double() }}) as provider_scope1_kg,
        cast(null as {{ type_double() }}) as provider_scope2_kg,
        cast(null as {{ type_double() }}) as provider_scope3_kg,
        'embodied_hardware' as factor_set,
        cast(null as integer) as factor_year,
        false as market_fallback_to_location
    from unioned
    cross join methods

)

select * from final
