-- Each Kubernetes pod's AI system, by namespace or pod name (first rule by
-- rule_order wins). The pods are those OpenCost allocated and those DCGM saw
-- GPUs of: one rule evaluation serves both, so a pod's allocation and its
-- measured GPU energy always land on the same system.
with

allocations as (

    select * from {{ ref('stg_opencost__allocations') }}

),

device_hours as (

    select * from {{ ref('stg_dcgm__gpu_hours') }}

),

systems as (

    select * from {{ ref('stg_org__systems') }}

),

pods as (

    select distinct
        namespace,
        pod
    from allocations
    where not is_idle_capacity and not is_unallocated and pod is not null
    union
    select distinct
        namespace,
        pod
    from device_hours
    where pod is not null

),

keyed as (

    select
        coalesce(namespace, '') || '/' || pod as pod_key,
        namespace,
        pod
    from pods

),

first_matches as (

    {{ first_matching_rule('keyed', 'pod_key', [
        ('k8s_namespace', 'candidate_rows.namespace'),
        ('k8s_pod', 'candidate_rows.pod'),
    ]) }}

),

attributed as (

    select
        keyed.*,
        coalesce(first_matches.system_id, 'unattributed') as system_id,
        systems.system_kind,
        first_matches.rule_order as matched_rule_order
    from keyed
    left join first_matches
        on keyed.pod_key = first_matches.pod_key
    left join systems
        on first_matches.system_id = systems.system_id

)

select * from attributed
