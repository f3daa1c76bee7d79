{#- The `renamed` select of a FOCUS staging model. The FOCUS files of any
    provider (source `focus`) and AWS's FOCUS export (source `aws_focus`) land
    the same contract, so their staging models share it:

        renamed as (
            {{ focus_cost_line_items_renamed('aws_focus.cost_line_items') }}
        ),

    Values keep their meaning; spellings are normalised (provider codes,
    region codes, lower-case categories, Azure subscription ids, AWS tag keys
    without `user:`). Costs stay in the billing currency. -#}
{% macro focus_cost_line_items_renamed(dataset) -%}
    {%- set provider = cloud_provider_code('"ProviderName"') -%}
    select
        -- ids
        {{ surrogate_key(["'" ~ dataset ~ "'", 'month', 'file_row_number']) }} as focus_line_item_id,
        "BillingAccountId" as billing_account_id,
        -- Azure names a subscription by its path (/subscriptions/<id>); its
        -- carbon data names the id
        coalesce(
            lower({{ regex_extract('"SubAccountId"', '(?i)^/subscriptions/([^/]+)$', 1) }}), "SubAccountId"
        ) as sub_account_id,
        "ResourceId" as resource_id,
        "SkuId" as sku_id,
        "SkuPriceId" as sku_price_id,
        "InvoiceId" as invoice_id,
        "CommitmentDiscountId" as commitment_discount_id,

        -- dimensions
        {{ provider }} as provider,
        "ProviderName" as provider_name,
        provider_source,
        -- values keep the case they were delivered in (Usage-Based / Usage-based)
        lower("ChargeCategory") as charge_category,
        lower("ChargeClass") as charge_class,
        lower("ChargeFrequency") as charge_frequency,
        "ChargeDescription" as charge_description,
        "ServiceName" as service_name,
        "ServiceCategory" as service_category,
        -- the service as the provider's carbon data names it: AWS's service
        -- code (AmazonEC2), Azure's resource type from the resource id
        -- (microsoft.compute/virtualmachines); else the FOCUS service name
        coalesce(
            case
                when {{ provider }} = 'aws' then "x_ServiceCode"
                when {{ provider }} = 'azure'
                    then lower({{ regex_extract('"ResourceId"', '(?i)/providers/([^/]+/[^/]+)', 1) }})
            end,
            "ServiceName"
        ) as service_code,
        -- OCI writes its region code into RegionName and leaves RegionId empty
        coalesce(
            {{ cloud_region_code(provider,
                'coalesce("RegionId", case when ' ~ provider ~ ' = \'oci\' then "RegionName" end)') }},
            'global'
        ) as region_code,
        "RegionName" as region_name,
        "AvailabilityZone" as availability_zone,
        "ResourceName" as resource_name,
        "ResourceType" as resource_type,
        "SkuMeter" as sku_meter,
        cast(coalesce("SkuPriceDetails", "x_SkuDetails") as {{ dbt.type_string() }}) as sku_details,
        "PricingCategory" as pricing_category,
        "ConsumedUnit" as consumed_unit,
        "PricingUnit" as pricing_unit,
        "BillingCurrency" as billing_currency,
        "BillingAccountName" as billing_account_name,
        "SubAccountName" as sub_account_name,
        -- rules name tag keys as set on the resource: AWS's `user:` prefix goes
        case
            when {{ provider }} = 'aws' then {{ cur_tags_without_user_prefix('"Tags"', 'user:') }}
            else coalesce("Tags", {{ empty_map() }})
        end as tags,
        _source_file as source_file,

        -- measures (billing currency; negative rows are credits and corrections)
        cast("BilledCost" as {{ type_double() }}) as billed_cost,
        cast("EffectiveCost" as {{ type_double() }}) as effective_cost,
        cast("ListCost" as {{ type_double() }}) as list_cost,
        cast("ContractedCost" as {{ type_double() }}) as contracted_cost,
        cast("ConsumedQuantity" as {{ type_double() }}) as consumed_quantity,
        cast("PricingQuantity" as {{ type_double() }}) as pricing_quantity,

        -- timestamps
        cast({{ dbt.date_trunc('month', 'cast("BillingPeriodStart" as timestamp)') }} as date) as billing_month,
        cast("BillingPeriodStart" as timestamp) as billing_period_start_at,
        cast("BillingPeriodEnd" as timestamp) as billing_period_end_at,
        cast("ChargePeriodStart" as timestamp) as charge_period_start_at,
        cast("ChargePeriodEnd" as timestamp) as charge_period_end_at

    from source
{%- endmacro %}
