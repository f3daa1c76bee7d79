with

source as (

    {{ landing_source('mlflow', 'runs') }}

),

renamed as (

    select
        -- ids
        run_id,
        experiment_id,

        -- dimensions
        run_name,
        upper(status) as status,
        lifecycle_stage,
        {{ map_value(key_value_list_to_map('tags'), "'mlflow.experimentName'") }} as experiment_name,
        {{ map_value(key_value_list_to_map('tags'), "'mlflow.user'") }} as user_name,
        {{ key_value_list_to_map('tags') }} as tags,
        {{ key_value_list_to_map('params') }} as params,
        _source_file as source_file,
        month as landed_month,

        -- timestamps (epoch milliseconds, UTC)
        {{ epoch_ms_to_timestamp('start_time') }} as started_at,
        {{ epoch_ms_to_timestamp('end_time') }} as ended_at

    from source

),

deduplicated as (

    -- a run listed in two monthly pages (started in one, updated in the next)
    -- keeps its latest state
    {{ deduplicate('renamed', 'run_id', 'landed_month desc') }}

)

select * from deduplicated
