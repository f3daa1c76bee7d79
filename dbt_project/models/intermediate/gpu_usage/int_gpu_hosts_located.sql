-- The cluster of every host a device-level source (DCGM, nvidia-smi) reports:
-- the first cluster in name order whose clusters[].hosts patterns match the
-- host name, or its short name (before the first dot). Null when none does:
-- then only a Slurm job the device is matched to can place it.
with

dcgm_hours as (

    select * from {{ ref('stg_dcgm__gpu_hours') }}

),

nvidia_smi_hours as (

    select * from {{ ref('stg_nvidia_smi__gpu_hours') }}

),

cluster_hosts as (

    select * from {{ ref('stg_org__cluster_hosts') }}

),

hosts as (

    select hostname from dcgm_hours
    where hostname is not null
    union
    select hostname from nvidia_smi_hours
    where hostname is not null

),

matches as (

    select
        hosts.hostname,
        cluster_hosts.cluster,
        row_number() over (partition by hosts.hostname order by cluster_hosts.cluster) as match_rank
    from hosts
    inner join cluster_hosts
        on
            {{ like_escaped('hosts.hostname', 'cluster_hosts.like_pattern') }}
            or {{ like_escaped(dbt.split_part('hosts.hostname', "'.'", 1), 'cluster_hosts.like_pattern') }}

),

located as (

    select
        hosts.hostname,
        {{ dbt.split_part('hosts.hostname', "'.'", 1) }} as short_hostname,
        matches.cluster
    from hosts
    left join matches
        on
            hosts.hostname = matches.hostname
            and matches.match_rank = 1

)

select * from located
