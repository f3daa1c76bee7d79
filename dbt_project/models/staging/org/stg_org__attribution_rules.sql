with

source as (

    {{ landing_source('org', 'attribution_rules') }}

),

renamed as (

    select
        -- ids
        cast(rule_order as integer) as rule_order,
        system_id,

        -- dimensions
        source_type,
        tag_key,
        like_pattern

    from source

)

select * from renamed
