{#- The telemetry chain incremental by month (int_gpu_device_hours_unioned,
    int_gpu_device_hours_matched), with the monthly state of
    macros/incremental_months.sql. DCGM and nvidia-smi land one partition per
    month holding that month's hours, so a month's device-hours read only
    that month's partitions; a month's matching also reads the Slurm jobs
    that can claim its hours: those whose span overlaps the month's hours,
    and those whose job id a device's `hpc_job` label names (the label rule
    takes the nearest such job even outside the hour). Each month's
    fingerprint covers exactly those inputs, so a new day of telemetry or a
    delivery of Slurm jobs recomputes the months they reach, not the year.

    Unlike the cloud chain, the two models are not sorted by month
    (`stored_in_month_order`): their rows come out nearly in month order, the
    partitions being read in turn, and with a year of 1,000 GPUs' telemetry
    (8.8M device-hours) the sort added 19 s to the full build and saved
    nothing in a nightly run replacing a month (3.7 s sorted, 3.4 s not). -#}


{#- The landing datasets the device-hours are fingerprinted by month. -#}
{% macro telemetry_monthly_sources() -%}
    {{ return(['dcgm.gpu_hours', 'nvidia_smi.samples']) }}
{%- endmacro %}


{#- {'2025-06-01': 'dcgm=<fingerprint>;nvidia_smi=<fingerprint>'} for every
    month either dataset has landed ('' for a dataset without that month). -#}
{% macro device_hours_landing_fingerprints() -%}
    {%- set dcgm = landing_partition_fingerprints('dcgm', 'gpu_hours', 'month') -%}
    {%- set nvidia_smi = landing_partition_fingerprints('nvidia_smi', 'samples', 'month') -%}
    {%- set fingerprints = {} -%}
    {%- for partition in (dcgm | list) + (nvidia_smi | list) -%}
        {%- do fingerprints.update({
            partition ~ '-01': 'dcgm=' ~ dcgm.get(partition, '') ~ ';nvidia_smi=' ~ nvidia_smi.get(partition, '')
        }) -%}
    {%- endfor -%}
    {{ return(fingerprints) }}
{%- endmacro %}


{#- `where <landed month> in ('2025-06', ...)` on an incremental run that
    recomputes some months (the landing partitions' own values, so DuckDB
    reads only their files); nothing otherwise. -#}
{% macro landed_months_filter(landed_month_column, monthly) -%}
    {%- if is_incremental() and monthly.months is not none -%}
        {%- set partitions = [] -%}
        {%- for month in monthly.months -%}
            {%- do partitions.append(month[:7]) -%}
        {%- endfor -%}
        where {{ in_values(landed_month_column, partitions) }}
    {%- endif -%}
{%- endmacro %}


{#- The first day of a landed month ('2025-06' -> date 2025-06-01). -#}
{% macro landed_month_start(landed_month_column) -%}
    cast({{ dbt.concat([landed_month_column, "'-01'"]) }} as date)
{%- endmacro %}


{#- The months' fingerprints of int_gpu_device_hours_matched: the stored
    fingerprint of the month's device-hours (`devices`, already built by this
    run) and a hash of the Slurm jobs (`job_days`) that can claim them, by
    time or by label. -#}
{% macro device_hour_job_fingerprints(devices, job_days) -%}
    {%- set device_months = monthly_input_fingerprints(devices, 'month', 'month_fingerprint') -%}
    {%- if device_months | length == 0 -%}
        {{ return({}) }}
    {%- endif -%}
    {%- set jobs = {} -%}
    {%- for row in run_query(claiming_jobs_fingerprints_sql(devices, job_days)) -%}
        {%- do jobs.update({row[0]: row[1]}) -%}
    {%- endfor -%}
    {%- set fingerprints = {} -%}
    {%- for month in device_months -%}
        {%- do fingerprints.update({month: device_months[month] ~ ';jobs=' ~ jobs.get(month, '')}) -%}
    {%- endfor -%}
    {{ return(fingerprints) }}
{%- endmacro %}

{#- The columns of a Slurm job the matching reads (the `jobs` of
    int_gpu_device_hours_matched): what a month's jobs fingerprint hashes. -#}
{% macro claiming_job_columns() -%}
    {{ return(['job_key', 'job_id', 'cluster', 'node_list', 'gpu_count', 'started_at', 'span_end_at']) }}
{%- endmacro %}

{#- Rows (month as 'YYYY-MM-DD', hash of the jobs that can claim its device-hours). -#}
{% macro claiming_jobs_fingerprints_sql(devices, job_days) -%}
    {%- set values = [] -%}
    {%- for column in claiming_job_columns() -%}
        {%- do values.append("coalesce(cast(jobs." ~ column ~ " as " ~ dbt.type_string() ~ "), '')") -%}
        {%- do values.append("'|'") if not loop.last -%}
    {%- endfor -%}
    {%- set job_line = dbt.concat(values) -%}
    with

    device_months as (
        select
            month,
            min(hour_start_at) as first_hour_at,
            {{ dbt.dateadd('hour', 1, 'max(hour_start_at)') }} as end_hour_at
        from {{ devices }}
        group by month
    ),

    labels as (
        select distinct
            month,
            hpc_job
        from {{ devices }}
        where hpc_job is not null
    ),

    jobs as (
        select distinct {{ claiming_job_columns() | join(', ') }}
        from {{ job_days }}
    ),

    claiming_jobs as (
        select
            device_months.month,
            {{ job_line }} as job_line
        from device_months
        inner join jobs
            on jobs.started_at < device_months.end_hour_at and jobs.span_end_at > device_months.first_hour_at
        union distinct
        select
            labels.month,
            {{ job_line }} as job_line
        from labels
        inner join jobs
            on jobs.job_id = labels.hpc_job
    )

    select
        cast(month as {{ dbt.type_string() }}) as month_value,
        {{ dbt.hash(dbt.listagg('job_line', "','", 'order by job_line')) }} as jobs_fingerprint
    from claiming_jobs
    group by month
{%- endmacro %}
