-- AWS CUR line items and GCP billing rows in one shape. A row's cell (provider,
-- billing account, account/project, service, region, month) is the grain at
-- which the providers publish emissions. Cost is each bill's own cost column:
-- AWS unblended cost (credits are line items of their own), GCP cost before
-- the credits nested in the row (staging keeps them as credits_amount).
with

aws_line_items as (

    select * from {{ ref('stg_aws__cur_line_items') }}

),

gcp_line_items as (

    select * from {{ ref('stg_gcp__billing_line_items') }}

),

aws_rows as (

    select
        cur_line_item_id as billing_row_id,
        'aws_cur' as source,
        provider,
        payer_account_id as billing_account_id,
        usage_account_id as account_id,
        product_code as service_code,
        product_code as service_name,
        region_code,
        billing_month as month,
        line_item_type as charge_type,
        -- only usage consumes resources: tax, credits, fees, refunds and
        -- savings-plan / reservation bookkeeping carry cost only
        (
            line_item_type not in ('Usage', 'DiscountedUsage', 'SavingsPlanCoveredUsage')
            or coalesce(usage_amount, 0) <= 0
        ) as is_cost_only,
        usage_type,
        instance_type,
        resource_id,
        usage_amount,
        lower(pricing_unit) as usage_unit,
        unblended_cost as cost,
        currency,
        resource_tags as tags
    from aws_line_items

),

gcp_rows as (

    select
        billing_line_item_id as billing_row_id,
        'gcp_billing' as source,
        provider,
        billing_account_id,
        project_id as account_id,
        service_id as service_code,
        service_description as service_name,
        region_code,
        usage_month as month,
        cost_type as charge_type,
        (cost_type != 'regular' or coalesce(usage_amount_in_pricing_units, 0) <= 0) as is_cost_only,
        sku_description as usage_type,
        {{ map_value('system_labels', "'compute.googleapis.com/machine_spec'") }} as instance_type,
        cast(null as varchar) as resource_id,
        usage_amount_in_pricing_units as usage_amount,
        lower(usage_pricing_unit) as usage_unit,
        cost,
        currency,
        labels as tags
    from gcp_line_items

),

unioned as (

    select * from aws_rows
    union all
    select * from gcp_rows

)

select * from unioned
