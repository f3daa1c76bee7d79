-- Each inference service's hourly traffic with its AI system (by service
-- name). Rules are matched once per service, not once per hour.
with

requests as (

    select * from {{ ref('stg_inference__requests') }}

),

systems as (

    select * from {{ ref('stg_org__systems') }}

),

services as (

    select distinct service from requests

),

first_matches as (

    {{ first_matching_rule('services', 'service', [
        ('inference_service', 'candidate_rows.service'),
    ]) }}

),

attributed as (

    select
        requests.*,
        coalesce(first_matches.system_id, 'unattributed') as system_id,
        systems.system_kind,
        first_matches.rule_order as matched_rule_order
    from requests
    left join first_matches
        on requests.service = first_matches.service
    left join systems
        on first_matches.system_id = systems.system_id

)

select * from attributed
