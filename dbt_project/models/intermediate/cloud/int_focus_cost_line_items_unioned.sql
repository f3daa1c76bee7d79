-- FOCUS rows of both sources (AWS's FOCUS export and the FOCUS files of any
-- provider) in one shape, ready to join the billing rows of CUR and GCP:
--   instance_type  the instance_types seed's type the row's text names (SKU
--                  meter, charge description, SKU details), the longest when
--                  several do: FOCUS has no instance-type column;
--   usage_type     a signature the cloud_usage_types seed's `focus` patterns
--                  classify: category=<ServiceCategory>;unit=<ConsumedUnit>;
--                  resource=<ResourceType>;service=<ServiceName>;
--                  meter=<SkuMeter>;description=<ChargeDescription>, lower case.
with

aws_focus_line_items as (

    select * from {{ ref('stg_aws_focus__cost_line_items') }}

),

focus_line_items as (

    select * from {{ ref('stg_focus__cost_line_items') }}

),

instance_types as (

    select * from {{ ref('instance_types') }}

),

unioned as (

    select
        'aws_focus' as source,
        *
    from aws_focus_line_items
    union all
    select
        'focus' as source,
        *
    from focus_line_items

),

described as (

    select
        *,
        lower(coalesce(consumed_unit, pricing_unit, '')) as usage_unit,
        {{ join_non_null(' | ', ['sku_meter', 'charge_description', 'sku_details']) }} as instance_text,
        'category=' || lower(coalesce(service_category, ''))
        || ';unit=' || lower(coalesce(consumed_unit, pricing_unit, ''))
        || ';resource=' || lower(coalesce(resource_type, ''))
        || ';service=' || lower(coalesce(service_name, ''))
        || ';meter=' || lower(coalesce(sku_meter, ''))
        || ';description=' || lower(coalesce(charge_description, '')) as usage_type
    from unioned

),

instance_matches as (

    select
        described.focus_line_item_id,
        instance_types.instance_type,
        row_number() over (
            partition by described.focus_line_item_id
            order by length(instance_types.instance_type) desc, instance_types.instance_type
        ) as match_rank
    from described
    inner join instance_types
        on
            described.provider = instance_types.provider
            -- instances bill by time: only rows billed in hours can be instance hours
            and described.usage_unit like '%hour%'
            and {{ regex_matches(
                'described.instance_text',
                instance_type_pattern('instance_types.provider', 'instance_types.instance_type')
            ) }}

),

final as (

    select
        described.*,
        instance_matches.instance_type
    from described
    left join instance_matches
        on
            described.focus_line_item_id = instance_matches.focus_line_item_id
            and instance_matches.match_rank = 1

)

select * from final
