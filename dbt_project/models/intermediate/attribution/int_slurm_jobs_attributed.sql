-- Each Slurm job's AI system: by job name or account, first rule wins.
with

jobs as (

    select * from {{ ref('stg_slurm__jobs') }}

),

systems as (

    select * from {{ ref('stg_org__systems') }}

),

first_matches as (

    {{ first_matching_rule('jobs', 'job_key', [
        ('slurm_job_name', 'candidate_rows.job_name'),
        ('slurm_account', 'candidate_rows.account'),
    ]) }}

),

attributed as (

    select
        jobs.*,
        coalesce(first_matches.system_id, 'unattributed') as system_id,
        systems.system_kind,
        first_matches.rule_order as matched_rule_order
    from jobs
    left join first_matches
        on jobs.job_key = first_matches.job_key
    left join systems
        on first_matches.system_id = systems.system_id

)

select * from attributed
