-- GPU-hours are counted once (methodology.md section 2a): the counted GPU-hours
-- out of the precedence step equal the GPU-hours the sources allocated - Slurm
-- GPU job-days, OpenCost allocations, CodeCarbon runs no Slurm job contains
-- (those on cloud VMs excepted: the billing rows count them) - plus the hours
-- only a measurement saw (workload-days without an allocation). Measured
-- hours that overlap an allocation add nothing.
with

usage as (

    select * from {{ ref('int_gpu_usage_deduplicated') }}
    where is_counted

),

workload_days as (

    select * from {{ ref('int_gpu_workload_days_collected') }}

),

allocated as (

    select sum(gpu_hours) as gpu_hours
    from {{ ref('int_slurm_job_days_clipped') }}
    where gpu_count > 0
    union all
    select sum(gpu_hours) as gpu_hours
    from {{ ref('stg_opencost__allocations') }}
    where gpu_hours > 0
    union all
    select sum(gpu_hours) as gpu_hours
    from {{ ref('int_codecarbon_run_days_matched') }}
    where workload_type = 'codecarbon_run' and not is_on_cloud

),

measured_only as (

    select
        sum(
            device_gpu_hours + case when device_gpu_hours = 0 then codecarbon_gpu_hours else 0 end
        ) as gpu_hours
    from workload_days
    where allocation_gpu_hours = 0 and not is_codecarbon_on_cloud

),

expected as (

    select
        (select coalesce(sum(gpu_hours), 0) from allocated)
        + (select coalesce(sum(gpu_hours), 0) from measured_only) as gpu_hours

),

counted as (

    select coalesce(sum(gpu_hours), 0) as gpu_hours from usage

)

select
    expected.gpu_hours as expected_gpu_hours,
    counted.gpu_hours as counted_gpu_hours
from expected
cross join counted
where abs(expected.gpu_hours - counted.gpu_hours) > 1e-6 * greatest(1, abs(expected.gpu_hours))
