-- The measurement plan: per AI system x emission category, how its figure of
-- the last twelve months of data is known (measured, provider_reported,
-- estimated, assumed, or missing), which source feeds it, at what cadence,
-- through which date, whether that source is late, and which source to
-- connect to know it better.
with

windowed as (

    select * from {{ ref('int_system_emissions_windowed') }}

),

systems as (

    select * from {{ ref('dim_ai_system') }}

),

feeds as (

    select * from {{ ref('int_system_feeds_assessed') }}

),

owned_hardware_users as (

    select distinct system_id
    from windowed
    where provider = 'on_prem'

),

-- the categories a system of each kind is expected to have: its GPU category,
-- data & infrastructure, and embodied only where it uses owned hardware (cloud
-- hardware is inside the provider's figure)
expected as (

    select
        system_id,
        case when kind = 'production_inference' then 'inference' else 'training' end as emission_category
    from systems
    where kind != 'unattributed'
    union all
    select
        system_id,
        'data_infrastructure' as emission_category
    from systems
    where kind != 'unattributed'
    union all
    select
        systems.system_id,
        'embodied' as emission_category
    from systems
    inner join owned_hardware_users
        on systems.system_id = owned_hardware_users.system_id
    where systems.kind != 'unattributed'

),

observed as (

    select distinct
        system_id,
        emission_category
    from windowed

),

cells as (

    select distinct
        system_id,
        emission_category
    from (
        select
            system_id,
            emission_category
        from expected
        union all
        select
            system_id,
            emission_category
        from observed
    ) as expected_and_observed

),

tiers as (

    select
        system_id,
        emission_category,
        tier,
        sum(location_kg_co2e) as location_kg_co2e,
        sum(energy_kwh) as energy_kwh,
        case tier
            when 'measured' then 1
            when 'provider_reported' then 2
            when 'estimated' then 3
            else 4
        end as tier_rank
    from windowed
    group by system_id, emission_category, tier

),

-- the tier that carries the largest part of the emissions (the better tier on a tie)
dominant_tiers as (

    select
        system_id,
        emission_category,
        tier,
        row_number() over (
            partition by system_id, emission_category
            order by location_kg_co2e desc, tier_rank asc
        ) as tier_order
    from tiers

),

cell_totals as (

    select
        system_id,
        emission_category,
        sum(location_kg_co2e) as location_kg_co2e,
        sum(energy_kwh) as energy_kwh,
        sum(case when tier = 'measured' then location_kg_co2e else 0 end) as measured_kg_co2e,
        sum(case when tier = 'provider_reported' then location_kg_co2e else 0 end) as provider_reported_kg_co2e,
        sum(case when tier = 'estimated' then location_kg_co2e else 0 end) as estimated_kg_co2e,
        sum(case when tier = 'assumed' then location_kg_co2e else 0 end) as assumed_kg_co2e
    from tiers
    group by system_id, emission_category

),

feed_lists as (

    select
        system_id,
        emission_category,
        {{ dbt.listagg(
            "case when feed_order > 1 then feed_source end", "', '", 'order by feed_order'
        ) }} as other_sources,
        {{ dbt.listagg(
            "case when is_late then feed_source end", "', '", 'order by feed_order'
        ) }} as late_sources,
        max(case when is_late then 1 else 0 end) = 1 as any_late
    from feeds
    group by system_id, emission_category

),

primary_feeds as (

    select * from feeds
    where feed_order = 1

),

classified as (

    select
        cells.system_id,
        systems.system_name,
        systems.kind as system_kind,
        cells.emission_category,
        coalesce(dominant_tiers.tier, 'missing') as tier,
        cell_totals.measured_kg_co2e / nullif(cell_totals.location_kg_co2e, 0) as measured_share,
        cell_totals.provider_reported_kg_co2e / nullif(cell_totals.location_kg_co2e, 0) as provider_reported_share,
        cell_totals.estimated_kg_co2e / nullif(cell_totals.location_kg_co2e, 0) as estimated_share,
        cell_totals.assumed_kg_co2e / nullif(cell_totals.location_kg_co2e, 0) as assumed_share,
        coalesce(cell_totals.location_kg_co2e, 0) / 1000 as location_tco2e_12m,
        coalesce(cell_totals.energy_kwh, 0) / 1000 as energy_mwh_12m,
        primary_feeds.feed_source as source,
        primary_feeds.instrument,
        primary_feeds.provider,
        feed_lists.other_sources,
        primary_feeds.cadence,
        primary_feeds.data_through_date,
        primary_feeds.data_as_of_date,
        primary_feeds.days_behind,
        primary_feeds.late_after_days,
        coalesce(feed_lists.any_late, false) as is_late,
        feed_lists.late_sources
    from cells
    inner join systems
        on cells.system_id = systems.system_id
    left join dominant_tiers
        on
            cells.system_id = dominant_tiers.system_id
            and cells.emission_category = dominant_tiers.emission_category
            and dominant_tiers.tier_order = 1
    left join cell_totals
        on
            cells.system_id = cell_totals.system_id
            and cells.emission_category = cell_totals.emission_category
    left join primary_feeds
        on
            cells.system_id = primary_feeds.system_id
            and cells.emission_category = primary_feeds.emission_category
    left join feed_lists
        on
            cells.system_id = feed_lists.system_id
            and cells.emission_category = feed_lists.emission_category

),

-- what would raise the tier: the provider's carbon export for cloud usage,
-- GPU energy counters on owned hardware; nothing measures embodied emissions
next_steps as (

    select
        *,
        case
            when tier in ('measured', 'provider_reported') or emission_category in ('embodied', 'unattributed')
                then cast(null as {{ dbt.type_string() }})
            when tier = 'missing' then 'attribution_rule'
            when provider = 'on_prem' then 'dcgm'
            when provider in ('aws', 'gcp', 'azure') then provider || '_carbon'
        end as next_source
    from classified

),

final as (

    select
        cast(system_id as {{ dbt.type_string() }}) as system_id,
        cast(system_name as {{ dbt.type_string() }}) as system_name,
        cast(system_kind as {{ dbt.type_string() }}) as system_kind,
        cast(emission_category as {{ dbt.type_string() }}) as emission_category,
        cast(tier as {{ dbt.type_string() }}) as tier,
        measured_share,
        provider_reported_share,
        estimated_share,
        assumed_share,
        location_tco2e_12m,
        energy_mwh_12m,
        cast(source as {{ dbt.type_string() }}) as source,
        cast(instrument as {{ dbt.type_string() }}) as instrument,
        cast(other_sources as {{ dbt.type_string() }}) as other_sources,
        cast(cadence as {{ dbt.type_string() }}) as cadence,
        cast(data_through_date as date) as data_through_date,
        cast(data_as_of_date as date) as data_as_of_date,
        cast(days_behind as integer) as days_behind,
        cast(late_after_days as integer) as late_after_days,
        cast(is_late as boolean) as is_late,
        cast(late_sources as {{ dbt.type_string() }}) as late_sources,
        cast(next_source as {{ dbt.type_string() }}) as next_source,
        cast(
            case next_source
                when 'attribution_rule' then 'add an attribution rule that assigns this usage to the system'
                when 'dcgm' then 'connect DCGM (GPU energy counters through Prometheus) or Slurm energy accounting'
                when 'aws_carbon' then 'connect the AWS carbon emissions export (sources.aws_carbon)'
                when 'gcp_carbon' then 'connect the Google Cloud Carbon Footprint export (sources.gcp_carbon)'
                when 'azure_carbon' then 'connect Azure Carbon Optimization (sources.azure_carbon)'
            end as {{ dbt.type_string() }}
        ) as next_step
    from next_steps

)

select * from final
