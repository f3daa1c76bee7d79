-- Each CodeCarbon run's AI system: by project name or experiment id, first
-- rule by rule_order wins.
with

runs as (

    select * from {{ ref('stg_codecarbon__runs') }}

),

systems as (

    select * from {{ ref('stg_org__systems') }}

),

first_matches as (

    {{ first_matching_rule('runs', 'run_id', [
        ('codecarbon_project', 'candidate_rows.project_name'),
        ('codecarbon_experiment', 'candidate_rows.experiment_id'),
    ]) }}

),

attributed as (

    select
        runs.*,
        coalesce(first_matches.system_id, 'unattributed') as system_id,
        systems.system_kind,
        first_matches.rule_order as matched_rule_order
    from runs
    left join first_matches
        on runs.run_id = first_matches.run_id
    left join systems
        on first_matches.system_id = systems.system_id

)

select * from attributed
