with

source as (

    {{ landing_source('inference', 'requests') }}

),

renamed as (

    select
        -- ids
        {{ surrogate_key(['service', 'timestamp']) }} as inference_request_id,

        -- dimensions
        service,
        _source_file as source_file,

        -- measures
        cast(requests as bigint) as requests,
        cast(tokens as bigint) as tokens,

        -- timestamps
        cast(timestamp as timestamp) as hour_start_at,
        cast({{ dbt.date_trunc('month', 'cast(timestamp as timestamp)') }} as date) as usage_month

    from source

)

select * from renamed
