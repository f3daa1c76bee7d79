-- Restatements of frozen disclosures: every line of every frozen version
-- (transform/disclosure.py), once per method, with the figure as disclosed,
-- the figure the current facts give, the difference, and why it moved.
-- Appears with the first build after a freeze; filter on is_restated for the
-- figures that moved.
with

lines as (

    select * from {{ ref('int_disclosure_lines_compared') }}

),

final as (

    select
        cast(year as integer) as year,
        cast(disclosure_version as integer) as disclosure_version,
        cast(ghg_scope as integer) as ghg_scope,
        cast(scope3_category as integer) as scope3_category,
        cast(method as {{ dbt.type_string() }}) as method,
        cast(frozen_tco2e as {{ type_double() }}) as frozen_tco2e,
        cast(current_tco2e as {{ type_double() }}) as current_tco2e,
        cast(current_tco2e - frozen_tco2e as {{ type_double() }}) as difference_tco2e,
        cast((current_tco2e - frozen_tco2e) / nullif(frozen_tco2e, 0) as {{ type_double() }}) as difference_share,
        cast(frozen_ai_attributed_tco2e as {{ type_double() }}) as frozen_ai_attributed_tco2e,
        cast(current_ai_attributed_tco2e as {{ type_double() }}) as current_ai_attributed_tco2e,
        cast(is_restated as boolean) as is_restated,
        cast(reasons as {{ dbt.type_string() }}) as reasons,
        cast(is_late_data as boolean) as is_late_data,
        cast(is_provider_model_change as boolean) as is_provider_model_change,
        cast(is_factor_update as boolean) as is_factor_update,
        cast(is_attribution_change as boolean) as is_attribution_change,
        cast(is_methodology_change as boolean) as is_methodology_change,
        cast(moved_months as {{ dbt.type_string() }}) as moved_months,
        cast(frozen_at as timestamp) as frozen_at,
        cast(frozen_data_as_of as timestamp) as frozen_data_as_of,
        cast(current_data_as_of as timestamp) as current_data_as_of,
        cast(frozen_methodology_version as {{ dbt.type_string() }}) as frozen_methodology_version,
        cast(current_methodology_version as {{ dbt.type_string() }}) as current_methodology_version
    from lines

)

select * from final
