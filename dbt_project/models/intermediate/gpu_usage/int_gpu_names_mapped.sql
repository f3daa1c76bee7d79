-- The gpu_power model of every device name a workload source reports (DCGM
-- modelName, nvidia-smi name, CodeCarbon gpu_model): the longest model of the
-- seed that the name contains ('NVIDIA L40S' is L40S, not L4); null when the
-- seed knows none, and the cluster's configured model applies instead.
with

dcgm_hours as (

    select * from {{ ref('stg_dcgm__gpu_hours') }}

),

nvidia_smi_hours as (

    select * from {{ ref('stg_nvidia_smi__gpu_hours') }}

),

codecarbon_runs as (

    select * from {{ ref('stg_codecarbon__runs') }}

),

gpu_power as (

    select * from {{ ref('gpu_power') }}

),

names as (

    select gpu_name from dcgm_hours
    where gpu_name is not null
    union
    select gpu_name from nvidia_smi_hours
    where gpu_name is not null
    union
    select gpu_name from codecarbon_runs
    where gpu_name is not null

),

candidates as (

    select
        names.gpu_name,
        gpu_power.gpu_model,
        row_number() over (
            partition by names.gpu_name
            order by length(gpu_power.gpu_model) desc, gpu_power.gpu_model
        ) as match_rank
    from names
    inner join gpu_power
        on upper(names.gpu_name) like '%' || gpu_power.gpu_model || '%'

),

mapped as (

    select
        names.gpu_name,
        candidates.gpu_model
    from names
    left join candidates
        on
            names.gpu_name = candidates.gpu_name
            and candidates.match_rank = 1

)

select * from mapped
