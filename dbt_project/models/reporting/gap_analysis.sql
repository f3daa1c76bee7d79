-- The gap analysis: per emission category, the share of energy and of
-- emissions of the last twelve months of data known at each tier, the systems
-- seen least well (weakest tier first) and the sources that would measure
-- them, and the rows quarantined by the extractors of the sources that feed
-- the category (a source feeding several categories counts in each).
with

windowed as (

    select * from {{ ref('int_system_emissions_windowed') }}

),

plan as (

    select * from {{ ref('measurement_plan') }}

),

quarantined as (

    select * from {{ ref('int_quarantined_rows_summarised') }}

),

categories as (

    select
        'training' as emission_category,
        1 as category_order
    union all
    select
        'inference' as emission_category,
        2 as category_order
    union all
    select
        'data_infrastructure' as emission_category,
        3 as category_order
    union all
    select
        'embodied' as emission_category,
        4 as category_order
    union all
    select
        'unattributed' as emission_category,
        5 as category_order

),

totals as (

    select
        emission_category,
        sum(energy_kwh) as energy_kwh,
        sum(location_kg_co2e) as location_kg_co2e,
        sum(case when tier = 'measured' then energy_kwh else 0 end) as measured_kwh,
        sum(case when tier = 'provider_reported' then energy_kwh else 0 end) as provider_reported_kwh,
        sum(case when tier = 'estimated' then energy_kwh else 0 end) as estimated_kwh,
        sum(case when tier = 'assumed' then energy_kwh else 0 end) as assumed_kwh,
        sum(case when tier = 'measured' then location_kg_co2e else 0 end) as measured_kg_co2e,
        sum(case when tier = 'provider_reported' then location_kg_co2e else 0 end) as provider_reported_kg_co2e,
        sum(case when tier = 'estimated' then location_kg_co2e else 0 end) as estimated_kg_co2e,
        sum(case when tier = 'assumed' then location_kg_co2e else 0 end) as assumed_kg_co2e
    from windowed
    group by emission_category

),

-- systems whose figure rests mostly on a model, a default or nothing
weak_cells as (

    select
        emission_category,
        system_id,
        tier,
        next_source,
        location_tco2e_12m,
        case tier when 'missing' then 1 when 'assumed' then 2 else 3 end as weakness_order
    from plan
    where tier in ('estimated', 'assumed', 'missing')

),

weakest as (

    select
        emission_category,
        count(*) as weak_systems,
        sum(case when tier = 'missing' then 1 else 0 end) as missing_systems,
        {{ dbt.listagg(
            "system_id || ' (' || tier || ')'", "', '",
            'order by weakness_order, location_tco2e_12m desc, system_id'
        ) }} as weakest_systems
    from weak_cells
    group by emission_category

),

sources_to_connect as (

    select
        emission_category,
        {{ dbt.listagg('next_source', "', '", 'order by next_source') }} as sources_to_connect
    from (select distinct
        emission_category,
        next_source
    from weak_cells
    where next_source is not null)
        as distinct_sources
    group by emission_category

),

plan_systems as (

    select
        emission_category,
        count(*) as systems
    from plan
    group by emission_category

),

-- which landing source feeds which category: the facts' sources and carbon
-- exports, plus the run and traffic sources that shape them
feeding_pairs as (

    select distinct
        landing_source,
        emission_category
    from (
        select
            source as landing_source,
            emission_category
        from windowed
        union all
        select
            feed_source as landing_source,
            emission_category
        from windowed
        union all
        select
            'inference' as landing_source,
            'inference' as emission_category
        union all
        select
            'mlflow' as landing_source,
            'training' as emission_category
    ) as pairs

),

category_quarantine as (

    select
        feeding_pairs.emission_category,
        sum(quarantined.quarantined_rows) as quarantined_rows,
        {{ dbt.listagg(
            "quarantined.landing_source || ': ' || quarantined.reasons", "' | '",
            'order by quarantined.landing_source'
        ) }} as quarantine_reasons
    from feeding_pairs
    inner join quarantined
        on feeding_pairs.landing_source = quarantined.landing_source
    group by feeding_pairs.emission_category

),

final as (

    select
        cast(categories.emission_category as {{ dbt.type_string() }}) as emission_category,
        coalesce(totals.energy_kwh, 0) / 1000 as energy_mwh_12m,
        coalesce(totals.location_kg_co2e, 0) / 1000 as location_tco2e_12m,
        totals.measured_kwh / nullif(totals.energy_kwh, 0)
            as measured_energy_share,
        totals.provider_reported_kwh / nullif(totals.energy_kwh, 0)
            as provider_reported_energy_share,
        totals.estimated_kwh / nullif(totals.energy_kwh, 0)
            as estimated_energy_share,
        totals.assumed_kwh / nullif(totals.energy_kwh, 0)
            as assumed_energy_share,
        totals.measured_kg_co2e / nullif(totals.location_kg_co2e, 0)
            as measured_emissions_share,
        totals.provider_reported_kg_co2e / nullif(totals.location_kg_co2e, 0)
            as provider_reported_emissions_share,
        totals.estimated_kg_co2e / nullif(totals.location_kg_co2e, 0)
            as estimated_emissions_share,
        totals.assumed_kg_co2e / nullif(totals.location_kg_co2e, 0)
            as assumed_emissions_share,
        cast(coalesce(plan_systems.systems, 0) as integer) as systems,
        cast(coalesce(weakest.weak_systems, 0) as integer) as weak_systems,
        cast(coalesce(weakest.missing_systems, 0) as integer) as missing_systems,
        cast(weakest.weakest_systems as {{ dbt.type_string() }}) as weakest_systems,
        cast(sources_to_connect.sources_to_connect as {{ dbt.type_string() }}) as sources_to_connect,
        cast(coalesce(category_quarantine.quarantined_rows, 0) as integer) as quarantined_rows,
        cast(category_quarantine.quarantine_reasons as {{ dbt.type_string() }}) as quarantine_reasons,
        cast(categories.category_order as integer) as category_order
    from categories
    left join totals
        on categories.emission_category = totals.emission_category
    left join weakest
        on categories.emission_category = weakest.emission_category
    left join sources_to_connect
        on categories.emission_category = sources_to_connect.emission_category
    left join plan_systems
        on categories.emission_category = plan_systems.emission_category
    left join category_quarantine
        on categories.emission_category = category_quarantine.emission_category

)

select * from final
