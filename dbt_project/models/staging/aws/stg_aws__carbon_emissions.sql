with

source as (

    {{ landing_source('aws_carbon', 'emissions') }}

),

renamed as (

    select
        -- ids
        {{ surrogate_key(["'aws_carbon.emissions'", 'month', 'file_row_number']) }} as carbon_emission_id,
        payer_account_id,
        usage_account_id,

        -- dimensions
        'aws' as provider,
        product_code,
        coalesce(nullif(lower(trim(region_code)), ''), 'global') as region_code,
        location as location_name,
        model_version,
        -- AWS delivers the old and the new model side by side for three months
        -- after a change: both are kept, the latest is the one reported
        dense_rank() over (
            partition by payer_account_id, usage_period_start
            order by
                cast({{ regex_extract('model_version', '([0-9]+)', 1) }} as integer) desc,
                cast(coalesce({{ regex_extract('model_version', '[0-9]+\\.([0-9]+)', 1) }}, '0') as integer) desc,
                cast(coalesce({{ regex_extract('model_version', '[0-9]+\\.[0-9]+\\.([0-9]+)', 1) }}, '0') as integer)
                desc
        ) = 1 as is_latest_model_version,
        _source_file as source_file,

        -- measures (AWS reports metric tonnes; kg from here on)
        {{ to_kg_co2e('total_lbm_emissions_value', 'total_lbm_emissions_unit') }} as location_based_kg,
        {{ to_kg_co2e('total_mbm_emissions_value', 'total_mbm_emissions_unit') }} as market_based_kg,
        {{ to_kg_co2e('total_scope_1_emissions_value', 'total_scope_1_emissions_unit') }} as scope1_kg,
        {{ to_kg_co2e('total_scope_2_lbm_emissions_value', 'total_scope_2_lbm_emissions_unit') }}
            as scope2_location_based_kg,
        {{ to_kg_co2e('total_scope_2_mbm_emissions_value', 'total_scope_2_mbm_emissions_unit') }}
            as scope2_market_based_kg,
        {{ to_kg_co2e('total_scope_3_lbm_emissions_value', 'total_scope_3_lbm_emissions_unit') }}
            as scope3_location_based_kg,
        {{ to_kg_co2e('total_scope_3_mbm_emissions_value', 'total_scope_3_mbm_emissions_unit') }}
            as scope3_market_based_kg,

        -- timestamps
        cast({{ dbt.date_trunc('month', 'cast(usage_period_start as timestamp)') }} as date) as usage_month,
        cast(usage_period_start as timestamp) as usage_period_start_at,
        cast(usage_period_end as timestamp) as usage_period_end_at,
        cast(last_refresh_timestamp as timestamp) as last_refreshed_at

    from source

)

select * from renamed
