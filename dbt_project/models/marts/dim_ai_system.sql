-- The organisation's AI systems from its config, plus `unattributed` (usage no
-- rule assigns to a system), with when each was first and last seen in the
-- facts.
with

systems as (

    select * from {{ ref('stg_org__systems') }}

),

emissions as (

    select * from {{ ref('fct_emissions') }}

),

inference_requests as (

    select * from {{ ref('fct_inference_requests') }}

),

training_runs as (

    select * from {{ ref('fct_training_runs') }}

),

all_systems as (

    select
        system_id,
        system_name,
        system_kind,
        owner,
        description,
        false as is_unattributed
    from systems
    union all
    select
        'unattributed' as system_id,
        'Unattributed' as system_name,
        'unattributed' as system_kind,
        cast(null as {{ dbt.type_string() }}) as owner,
        'Usage no attribution rule assigns to an AI system; never dropped, its size is reported.' as description,
        true as is_unattributed

),

sightings as (

    select
        system_id,
        month
    from emissions
    where accounting_basis = 'activity' and (energy_kwh > 0 or kg_co2e > 0 or cost != 0)
    union all
    select
        system_id,
        month
    from inference_requests
    where requests > 0
    union all
    select
        system_id,
        month
    from training_runs

),

seen as (

    select
        system_id,
        min(month) as first_seen,
        max(month) as last_seen
    from sightings
    group by system_id

),

final as (

    select
        cast(all_systems.system_id as {{ dbt.type_string() }}) as system_id,
        cast(all_systems.system_name as {{ dbt.type_string() }}) as system_name,
        cast(all_systems.system_kind as {{ dbt.type_string() }}) as kind,
        cast(all_systems.owner as {{ dbt.type_string() }}) as owner,
        cast(all_systems.description as {{ dbt.type_string() }}) as description,
        cast(all_systems.is_unattributed as boolean) as is_unattributed,
        cast(seen.first_seen as date) as first_seen,
        cast(seen.last_seen as date) as last_seen
    from all_systems
    left join seen
        on all_systems.system_id = seen.system_id

)

select * from final
