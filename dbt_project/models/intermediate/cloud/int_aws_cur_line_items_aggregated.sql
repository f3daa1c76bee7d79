{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='landing_month',
        on_schema_change='fail',
        meta={'tests_by_month': {
            'column': 'landing_month', 'column_type': 'text', 'fingerprint': 'landing_fingerprint',
        }},
    )
}}
-- CUR line items summed to the grain the carbon maths needs, before any join:
-- payer and usage account x service x region x usage type x instance type x
-- resource x tags (what attribution reads; grouped as delivered, then cleaned
-- once per distinct tag set) x line item type x month, with
-- usage and cost summed. Energy, cost shares and provider allocation are all
-- linear in usage and cost within such a group, so every figure downstream is
-- the one the line items would give; rows with and without usage stay apart
-- (only rows with usage consume energy).
--
-- Incremental by landing partition (one billing period): a run reads only the
-- partitions whose files changed since the last run (a new day of the open
-- month, a re-delivered month) and replaces those months whole
-- (delete+insert on landing_month); history is never rescanned.
-- `dbt run --full-refresh` rebuilds every month.
{%- set fingerprints = landing_partition_fingerprints('aws_cur', 'line_items', 'month') -%}
{%- if is_incremental() -%}
    {%- set partitions_to_load = landing_partitions_to_load(
        fingerprints, 'landing_month', 'landing_fingerprint'
    ) -%}
{%- endif %}

with

line_items as (

    select * from {{ ref('stg_aws__cur_line_items') }}
    {%- if is_incremental() %}
        where {{ in_values('landing_month', partitions_to_load) }}
    {%- endif %}

),

aggregated as (

    select
        -- ids
        min(landing_row_number) as first_landing_row_number,
        payer_account_id,
        usage_account_id,
        resource_id,

        -- dimensions
        provider,
        line_item_type,
        product_code,
        usage_type,
        pricing_unit,
        instance_type,
        region_code,
        currency,
        delivered_resource_tags,
        coalesce(usage_amount, 0) > 0 as has_usage,

        -- measures
        sum(usage_amount) as usage_amount,
        sum(unblended_cost) as unblended_cost,
        count(*) as line_items,

        -- timestamps
        billing_month,
        landing_month
    from line_items
    group by
        payer_account_id,
        usage_account_id,
        resource_id,
        provider,
        line_item_type,
        product_code,
        usage_type,
        pricing_unit,
        instance_type,
        region_code,
        currency,
        delivered_resource_tags,
        coalesce(usage_amount, 0) > 0,
        billing_month,
        landing_month

),

-- Tags are cleaned once per distinct tag set (a few dozen), not per group
-- (a million at 10M line items).
tag_sets as (

    select distinct delivered_resource_tags
    from aggregated

),

cleaned_tag_sets as (

    select
        delivered_resource_tags,
        -- as stg_aws__cur_line_items cleans them
        {{ cur_tags_without_user_prefix('delivered_resource_tags') }} as resource_tags
    from tag_sets

),

final as (

    select
        -- the cur_line_item_id of the group's first line item: hashed once per
        -- group rather than once per line item
        {{ surrogate_key(["'aws_cur.line_items'", 'aggregated.landing_month', 'aggregated.first_landing_row_number']) }}
            as cur_line_item_group_id,
        aggregated.payer_account_id,
        aggregated.usage_account_id,
        aggregated.resource_id,
        aggregated.provider,
        aggregated.line_item_type,
        aggregated.product_code,
        aggregated.usage_type,
        aggregated.pricing_unit,
        aggregated.instance_type,
        aggregated.region_code,
        aggregated.currency,
        cleaned_tag_sets.resource_tags,
        aggregated.has_usage,
        aggregated.usage_amount,
        aggregated.unblended_cost,
        aggregated.line_items,
        aggregated.billing_month,
        aggregated.landing_month,
        {{ landing_fingerprint_of('aggregated.landing_month', fingerprints) }} as landing_fingerprint
    from aggregated
    left join cleaned_tag_sets
        on aggregated.delivered_resource_tags is not distinct from cleaned_tag_sets.delivered_resource_tags

)

select * from final
