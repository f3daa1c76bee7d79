-- A view: one model reads it, so the rows are never written out in between.
{{ config(materialized='view') }}

-- AWS CUR line items, GCP billing rows and FOCUS rows of any provider in one
-- shape. A row's cell (provider, billing account, account/project, service,
-- region, month) is the grain at which the providers publish emissions. Cost
-- is each bill's own cost column: AWS unblended cost (credits are line items
-- of their own), GCP cost before the credits nested in the row (staging keeps
-- them as credits_amount), FOCUS BilledCost.
--
-- One bill per provider x billing account x month (methodology.md section 2):
-- the same costs can arrive as CUR and as AWS's FOCUS export, or as a FOCUS
-- file as well; only the rows of the most specific source landed for that
-- provider, billing account and month are kept - the provider's native export
-- (CUR 2.0, GCP billing export), then AWS's FOCUS export, then FOCUS files.
-- Azure publishes carbon per subscription, so an Azure subscription is its
-- own billing account here. AWS rows are CUR line items already summed to
-- the grain the maths needs (int_aws_cur_line_items_aggregated).
--
-- The month of each row reaches the stored rows under it: an incremental model
-- reading one month of this view (or of the views over it) reads that month
-- of each source only. `unioned` is read twice below, so it and the sources
-- under it are inlined into both readers (cte_inlined); DuckDB would
-- otherwise compute them once, for every month, before the filter.
with

aws_line_items as {{ cte_inlined() }} (

    select * from {{ ref('int_aws_cur_line_items_aggregated') }}

),

gcp_line_items as {{ cte_inlined() }} (

    select * from {{ ref('stg_gcp__billing_line_items') }}

),

focus_line_items as {{ cte_inlined() }} (

    select * from {{ ref('int_focus_cost_line_items_unioned') }}

),

aws_rows as (

    select
        cur_line_item_group_id as billing_row_id,
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
            or not has_usage
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
        cast(null as {{ dbt.type_string() }}) as resource_id,
        usage_amount_in_pricing_units as usage_amount,
        lower(usage_pricing_unit) as usage_unit,
        cost,
        currency,
        labels as tags
    from gcp_line_items

),

focus_rows as (

    select
        focus_line_item_id as billing_row_id,
        source,
        provider,
        case when provider = 'azure' then sub_account_id else billing_account_id end as billing_account_id,
        sub_account_id as account_id,
        service_code,
        service_name,
        region_code,
        billing_month as month,
        charge_category as charge_type,
        -- purchases, tax, credits, adjustments and rows without usage carry cost only
        (charge_category != 'usage' or coalesce(consumed_quantity, 0) <= 0) as is_cost_only,
        usage_type,
        instance_type,
        resource_id,
        consumed_quantity as usage_amount,
        usage_unit,
        billed_cost as cost,
        billing_currency as currency,
        tags
    from focus_line_items

),

unioned as {{ cte_inlined() }} (

    select * from aws_rows
    union all
    select * from gcp_rows
    union all
    select * from focus_rows

),

source_precedences as (

    select
        precedences.source,
        precedences.precedence
    from (
        select
            'aws_cur' as source,
            1 as precedence
        union all
        select
            'gcp_billing' as source,
            1 as precedence
        union all
        select
            'aws_focus' as source,
            2 as precedence
        union all
        select
            'focus' as source,
            3 as precedence
    ) as precedences

),

preferred_sources as (

    select
        unioned.provider,
        unioned.billing_account_id,
        unioned.month,
        min(source_precedences.precedence) as precedence
    from unioned
    inner join source_precedences
        on unioned.source = source_precedences.source
    group by unioned.provider, unioned.billing_account_id, unioned.month

),

one_bill_per_account_month as (

    select unioned.*
    from unioned
    inner join source_precedences
        on unioned.source = source_precedences.source
    inner join preferred_sources
        on
            unioned.provider = preferred_sources.provider
            and unioned.billing_account_id is not distinct from preferred_sources.billing_account_id
            and unioned.month = preferred_sources.month
            and source_precedences.precedence = preferred_sources.precedence

)

select * from one_bill_per_account_month
