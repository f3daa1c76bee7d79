-- A table, unlike the other staging models: the billing views over it
-- (int_cloud_billing_rows_unioned and the two after it) inline their CTEs so
-- that a month filter reaches the CUR rows, and read this relation many times
-- in one query (16 to 24 scans in the plan); the landing's JSON-derived
-- Parquet is read once per run instead.
{{ config(materialized='table') }}

with

source as (

    {{ landing_source('gcp_billing', 'billing_export') }}

),

renamed as (

    select
        -- ids
        {{ surrogate_key(["'gcp_billing.billing_export'", 'month', 'file_row_number']) }} as billing_line_item_id,
        billing_account_id,
        project.id as project_id,
        project.number as project_number,
        service.id as service_id,
        sku.id as sku_id,

        -- dimensions
        'gcp' as provider,
        cost_type,
        service.description as service_description,
        sku.description as sku_description,
        -- multi-regions (e.g. `us`) have no region: the location is the cell's place
        coalesce(nullif(lower(trim(coalesce(location.region, location.location))), ''), 'global') as region_code,
        location.country as location_country,
        location.zone as location_zone,
        -- the row's labels, then the project's labels for keys the row lacks
        {{ key_value_list_to_map('labels', fallback_list='project.labels') }} as labels,
        {{ key_value_list_to_map('system_labels') }} as system_labels,
        usage.unit as usage_unit,
        usage.pricing_unit as usage_pricing_unit,
        currency,
        _source_file as source_file,

        -- measures
        cast(cost as {{ type_double() }}) as cost,
        cast(cost_at_list as {{ type_double() }}) as cost_at_list,
        cast({{ struct_list_sum('credits', 'amount') }} as {{ type_double() }}) as credits_amount,
        cast(usage.amount as {{ type_double() }}) as usage_amount,
        cast(usage.amount_in_pricing_units as {{ type_double() }}) as usage_amount_in_pricing_units,

        -- timestamps
        cast(
            substr(invoice.month, 1, 4) || '-' || substr(invoice.month, 5, 2) || '-01' as date
        ) as invoice_month,
        cast({{ dbt.date_trunc('month', 'cast(usage_start_time as timestamp)') }} as date) as usage_month,
        cast(usage_start_time as timestamp) as usage_start_at,
        cast(usage_end_time as timestamp) as usage_end_at,
        cast(export_time as timestamp) as exported_at

    from source

)

select * from renamed
