-- A view: one model reads it, so the rows are never written out in between.
{{ config(materialized='view') }}

-- What each cloud billing row consumed, as one row per activity ("usage part"):
-- an instance hour is GPU, CPU and memory at once (instance_types); a GCP row
-- bills one resource (GPU SKU, core, RAM, disk, egress). FOCUS rows of any
-- provider are classified by their usage signature (ServiceCategory,
-- ConsumedUnit, ResourceType, ServiceName, SkuMeter, ChargeDescription; see
-- int_focus_cost_line_items_unioned) with the seed's `focus` patterns.
-- Quantities in canonical units: hours, GB-hours, TB-hours, GB. Cost-only
-- rows (tax, credits, fees, no usage) become one `other` part with no quantity.
with

billing_rows as {{ cte_inlined() }} (

    -- every column but the tags: attribution has read them, and the map would
    -- otherwise be copied through every step after this one
    select
        billing_row_id,
        source,
        provider,
        billing_account_id,
        account_id,
        service_code,
        service_name,
        region_code,
        month,
        charge_type,
        is_cost_only,
        usage_type,
        instance_type,
        resource_id,
        usage_amount,
        usage_unit,
        cost,
        currency,
        system_id,
        system_kind,
        matched_rule_order
    from {{ ref('int_cloud_billing_rows_attributed') }}

),

usage_types as (

    select * from {{ ref('cloud_usage_types') }}

),

gpu_skus as (

    select * from {{ ref('gcp_gpu_skus') }}

),

instance_types as (

    select * from {{ ref('instance_types') }}

),

usage_rows as {{ cte_inlined() }} (

    select * from billing_rows
    where not is_cost_only

),

-- A row's class depends on its provider, source and usage type only: the
-- patterns are matched once per distinct usage type and month, not once per
-- row. The month is part of the key, and the steps that read the billing
-- rows more than once are inlined (cte_inlined), so that an incremental model
-- reading one month of this view reads that month's billing rows only.
usage_signatures as {{ cte_inlined() }} (

    select distinct
        month,
        provider,
        source,
        usage_type
    from usage_rows

),

gpu_sku_matches as (

    select
        usage_signatures.month,
        usage_signatures.provider,
        usage_signatures.source,
        usage_signatures.usage_type,
        gpu_skus.gpu_model,
        row_number() over (
            partition by
                usage_signatures.month, usage_signatures.provider, usage_signatures.source, usage_signatures.usage_type
            order by gpu_skus.like_pattern
        ) as match_rank
    from usage_signatures
    inner join gpu_skus
        on
            usage_signatures.provider = 'gcp'
            and (
                usage_signatures.usage_type like gpu_skus.like_pattern
                -- a GCP FOCUS row: the SKU description is its charge description
                or usage_signatures.usage_type like '%;description=' || lower(gpu_skus.like_pattern)
            )

),

usage_type_matches as (

    select
        usage_signatures.month,
        usage_signatures.provider,
        usage_signatures.source,
        usage_signatures.usage_type,
        usage_types.activity,
        usage_types.storage_media,
        usage_types.replication_class,
        usage_types.network_class,
        row_number() over (
            partition by
                usage_signatures.month, usage_signatures.provider, usage_signatures.source, usage_signatures.usage_type
            order by usage_types.priority
        ) as match_rank
    from usage_signatures
    inner join usage_types
        on
            usage_types.provider
            = case
                when usage_signatures.source in ('aws_focus', 'focus') then 'focus'
                else usage_signatures.provider
            end
            and usage_signatures.usage_type like usage_types.like_pattern

),

typed as {{ cte_inlined() }} (

    select
        billing_rows.*,
        case
            when billing_rows.is_cost_only then 'cost_only'
            when gpu_sku_matches.gpu_model is not null then 'gpu'
            else coalesce(usage_type_matches.activity, 'other')
        end as usage_class,
        gpu_sku_matches.gpu_model as sku_gpu_model,
        usage_type_matches.storage_media,
        usage_type_matches.replication_class,
        usage_type_matches.network_class,
        -- the amount in each canonical unit its pricing unit converts to
        case
            when billing_rows.usage_unit in ('hrs', 'hour', 'hours') then billing_rows.usage_amount
        end as hours,
        case
            when billing_rows.usage_unit in ('gb-mo', 'gibibyte month', 'gb-months', 'gb/month', 'gb months')
                then billing_rows.usage_amount * 24 * {{ dbt.datediff(
                    'billing_rows.month', dbt.dateadd('month', 1, 'billing_rows.month'), 'day'
                ) }}
            when billing_rows.usage_unit in ('gibibyte day') then billing_rows.usage_amount * 24
            when billing_rows.usage_unit in ('gibibyte hour', 'gb-hours', 'gb hours') then billing_rows.usage_amount
        end as gb_hours,
        case
            when billing_rows.usage_unit in ('gb', 'gibibyte') then billing_rows.usage_amount
            when billing_rows.usage_unit in ('tb', 'tebibyte') then billing_rows.usage_amount * 1024
        end as gb
    from billing_rows
    -- cost-only rows take no class from their usage type
    left join gpu_sku_matches
        on
            not billing_rows.is_cost_only
            and billing_rows.provider = gpu_sku_matches.provider
            and billing_rows.source is not distinct from gpu_sku_matches.source
            and billing_rows.usage_type = gpu_sku_matches.usage_type
            and billing_rows.month = gpu_sku_matches.month
            and gpu_sku_matches.match_rank = 1
    left join usage_type_matches
        on
            not billing_rows.is_cost_only
            and billing_rows.provider = usage_type_matches.provider
            and billing_rows.source is not distinct from usage_type_matches.source
            and billing_rows.usage_type = usage_type_matches.usage_type
            and billing_rows.month = usage_type_matches.month
            and usage_type_matches.match_rank = 1

),

-- the parts an instance-hour is split into
instance_activities as (

    select 'gpu' as activity
    union all
    select 'cpu' as activity
    union all
    select 'memory' as activity

),

instance_parts as (

    select
        typed.*,
        parts.activity,
        case when parts.activity = 'gpu' then instance_types.gpu_model end as gpu_model,
        case when parts.activity = 'gpu' then typed.hours * instance_types.gpus end as gpu_hours,
        case when parts.activity = 'cpu' then typed.hours * instance_types.vcpus end as vcpu_hours,
        case when parts.activity = 'memory' then typed.hours * instance_types.memory_gb end as memory_gb_hours,
        cast(null as {{ type_double() }}) as storage_tb_hours,
        cast(null as {{ type_double() }}) as network_gb
    from typed
    inner join instance_types
        on
            typed.provider = instance_types.provider
            and typed.instance_type = instance_types.instance_type
    cross join instance_activities as parts
    where
        typed.usage_class = 'instance'
        and (parts.activity != 'gpu' or instance_types.gpus > 0)

),

single_parts as (

    select
        typed.*,
        case
            when typed.usage_class in ('gpu', 'cpu', 'memory', 'storage', 'network') then typed.usage_class
            else 'other'
        end as activity,
        typed.sku_gpu_model as gpu_model,
        case when typed.usage_class = 'gpu' then typed.hours end as gpu_hours,
        case when typed.usage_class = 'cpu' then typed.hours end as vcpu_hours,
        case when typed.usage_class = 'memory' then typed.gb_hours end as memory_gb_hours,
        case when typed.usage_class = 'storage' then typed.gb_hours / 1024 end as storage_tb_hours,
        case when typed.usage_class = 'network' then typed.gb end as network_gb
    from typed
    left join instance_types
        on
            typed.provider = instance_types.provider
            and typed.instance_type = instance_types.instance_type
    -- an instance type the seed does not know cannot be split: one `other` part
    where typed.usage_class != 'instance' or instance_types.instance_type is null

),

parts as (

    select * from instance_parts
    union all
    select * from single_parts

),

final as (

    select
        billing_row_id || ':' || activity as usage_part_id,
        *
    from parts

)

select * from final
