-- The organisation's methodology settings as one typed row, defaults applied.
with

settings as (

    select * from {{ ref('stg_org__settings') }}

),

coefficients as (

    select * from {{ ref('cloud_usage_coefficients') }}

),

pivoted as (

    select
        max(case when setting_key = 'grid_factor_set' then setting_value end) as grid_factor_set,
        max(case when setting_key = 'gpu_utilisation_default' then setting_value end) as gpu_utilisation_default,
        max(case when setting_key = 'allocation_basis' then setting_value end) as allocation_basis,
        max(case when setting_key = 'organisation_name' then setting_value end) as organisation_name,
        max(case when setting_key = 'reporting_year' then setting_value end) as reporting_year,
        max(case when setting_key = 'inference_min_idle_share' then setting_value end) as inference_min_idle_share,
        max(case when setting_key = 'codecarbon_cluster' then setting_value end) as codecarbon_cluster
    from settings

),

utilisation_fallback as (

    select value as gpu_utilisation
    from coefficients
    where provider = '*' and coefficient = 'gpu_utilisation' and qualifier = '*'

),

final as (

    select
        coalesce(pivoted.grid_factor_set, 'default') as grid_factor_set,
        coalesce(
            cast(pivoted.gpu_utilisation_default as {{ type_double() }}), utilisation_fallback.gpu_utilisation
        ) as gpu_utilisation_default,
        lower(coalesce(pivoted.allocation_basis, 'cost')) as allocation_basis,
        pivoted.organisation_name,
        cast(pivoted.reporting_year as integer) as reporting_year,
        -- no floor unless configured: the idle share is what traffic or utilisation shows
        coalesce(cast(pivoted.inference_min_idle_share as {{ type_double() }}), 0.0) as inference_min_idle_share,
        pivoted.codecarbon_cluster
    from pivoted
    left join utilisation_fallback on true

)

select * from final
