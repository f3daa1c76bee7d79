with

source as (

    {{ landing_source('org', 'targets') }}

),

renamed as (

    select
        -- ids
        target_id,

        -- dimensions
        cast(baseline_year as integer) as baseline_year,
        cast(target_year as integer) as target_year,
        method,
        cast(ghg_scope as integer) as ghg_scope,

        -- measures
        reduction_pct / 100.0 as reduction_share

    from source

)

select * from renamed
