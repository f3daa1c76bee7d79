-- Training and fine-tuning runs logged to MLflow, one row per run, with their
-- AI system: failed and killed runs stay visible.
with

runs as (

    select * from {{ ref('int_mlflow_runs_attributed') }}

),

timed as (

    select
        *,
        {{ dbt.datediff('started_at', 'ended_at', 'second') | trim }} as duration_seconds
    from runs

),

final as (

    select
        cast(run_id as varchar) as run_id,
        cast(system_id as varchar) as system_id,
        cast(experiment_id as varchar) as experiment_id,
        cast(experiment_name as varchar) as experiment_name,
        cast(run_name as varchar) as run_name,
        cast(status as varchar) as status,
        cast(status in ('FAILED', 'KILLED') as boolean) as is_failed,
        cast(started_at as timestamp) as started_at,
        cast(ended_at as timestamp) as ended_at,
        cast(duration_seconds / 3600.0 as double) as duration_hours,
        cast({{ dbt.date_trunc('month', 'started_at') }} as date) as month
    from timed

)

select * from final
