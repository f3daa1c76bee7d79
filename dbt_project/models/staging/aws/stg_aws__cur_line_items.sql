with

source as (

    {{ landing_source('aws_cur', 'line_items') }}

),

renamed as (

    select
        -- ids
        {{ surrogate_key(["'aws_cur.line_items'", 'month', 'file_row_number']) }} as cur_line_item_id,
        bill_payer_account_id as payer_account_id,
        line_item_usage_account_id as usage_account_id,
        line_item_resource_id as resource_id,
        -- the line item's position in its landed file: with landing_month,
        -- what cur_line_item_id hashes (a sum of line items hashes its first)
        file_row_number as landing_row_number,

        -- dimensions
        'aws' as provider,
        line_item_line_item_type as line_item_type,
        line_item_product_code as product_code,
        line_item_usage_type as usage_type,
        line_item_operation as operation,
        pricing_unit,
        product_instance_type as instance_type,
        -- global services, tax and credits carry no region
        coalesce(nullif(lower(trim(product_region_code)), ''), 'global') as region_code,
        line_item_currency_code as currency,
        -- rules name tag keys as set on the resource: CUR's `user_` prefix goes
        {{ cur_tags_without_user_prefix('resource_tags') }} as resource_tags,
        -- as delivered: models that sum line items group on it and clean the
        -- few distinct tag sets afterwards instead of every line item
        resource_tags as delivered_resource_tags,
        _source_file as source_file,

        -- measures
        cast(line_item_usage_amount as {{ type_double() }}) as usage_amount,
        cast(line_item_unblended_cost as {{ type_double() }}) as unblended_cost,

        -- timestamps
        cast({{ dbt.date_trunc('month', 'cast(bill_billing_period_start_date as timestamp)') }} as date)
            as billing_month,
        cast(line_item_usage_start_date as timestamp) as usage_start_at,
        cast(line_item_usage_end_date as timestamp) as usage_end_at,
        -- the landed partition (YYYY-MM): a filter on it reads that partition's files only
        month as landing_month

    from source

)

select * from renamed
