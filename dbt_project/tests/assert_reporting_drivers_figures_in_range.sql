-- The ratios of reporting.hidden_drivers, model_disclosure and
-- inference_intensity stay in their ranges: shares within 0..1, ratios and
-- intensities not negative. Returns the offending rows.
with

drivers as (

    select * from {{ ref('hidden_drivers') }}

),

disclosures as (

    select * from {{ ref('model_disclosure') }}

),

intensities as (

    select * from {{ ref('inference_intensity') }}

),

violations as (

    select
        'hidden_drivers' as relation,
        system_id,
        month,
        'a share outside 0..1 or a negative ratio' as problem
    from drivers
    where
        idle_share not between 0 and 1
        or failed_run_share not between 0 and 1
        or year_replacement_share not between 0 and 1
        or data_movement_share < 0
        or retraining_to_first_run_ratio < 0
        or year_embodied_kg_co2e_per_gpu_of_growth < 0
    union all
    select
        'model_disclosure' as relation,
        system_id,
        cast(null as date) as month,
        'a share outside 0..1 or negative GPU-hours' as problem
    from disclosures
    where
        disclosure_completeness not between 0 and 1
        or failed_run_share not between 0 and 1
        or gpu_hours < 0
        or (disclosure_completeness = 1) != (missing_disclosures is null)
    union all
    select
        'inference_intensity' as relation,
        system_id,
        month,
        'a share outside 0..1 or a negative intensity' as problem
    from intensities
    where
        idle_share not between 0 and 1
        or g_co2e_per_1k_requests < 0
        or market_g_co2e_per_1k_requests < 0
        or g_co2e_per_1m_tokens < 0
        or idle_g_co2e_per_1k_requests > g_co2e_per_1k_requests

)

select * from violations
