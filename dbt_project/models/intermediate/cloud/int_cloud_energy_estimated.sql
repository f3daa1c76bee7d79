{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='month',
        on_schema_change='append_new_columns',
        post_hook="{{ delete_rows_of_other_inputs() }}",
    )
}}
-- Bottom-up IT energy of every cloud usage part (methodology.md section 2):
--   GPU     GPU-hours x (idle + u x (max - idle)) / 1000, u = config default
--   CPU     vCPU-hours x (min + u x (max - min)) / 1000, provider averages
--   memory  GB-hours x kWh/GB-h
--   storage TB-hours x Wh/TB-h (SSD or HDD) x replication factor / 1000
--   network GB x kWh/GB (intra-region, inter-region or internet)
-- The row's cost is shared among its parts by their energy.
--
-- Incremental by month (macros/incremental_months.sql): a run recomputes the
-- months whose bills changed - the CUR partition int_aws_cur_line_items_aggregated
-- reloaded (a re-delivered or restated month, the open month with a new day),
-- the GCP billing rows of a usage month, the FOCUS rows of a billing month -
-- and replaces them whole (delete+insert on month); every month when anything
-- else it reads changed (seeds, org config, a model's SQL). The months are
-- independent: a part's energy and cost depend on its own billing row, the
-- seeds and the settings only.
{%- set monthly = billing_monthly_state() %}

with

parts as (

    select * from {{ ref('int_cloud_usage_classified') }}
    {{ months_filter('month', monthly) }}

),

coefficients as (

    select * from {{ ref('int_cloud_coefficients_resolved') }}

),

gpu_power as (

    select * from {{ ref('gpu_power') }}

),

settings as (

    select * from {{ ref('int_settings_pivoted') }}

),

provider_coefficients as (

    select
        provider,
        max(case when coefficient = 'min_watts_per_vcpu' then value end) as min_watts_per_vcpu,
        max(case when coefficient = 'max_watts_per_vcpu' then value end) as max_watts_per_vcpu,
        max(case when coefficient = 'cpu_utilisation' then value end) as cpu_utilisation,
        max(case when coefficient = 'memory_kwh_per_gb_hour' then value end) as memory_kwh_per_gb_hour
    from coefficients
    group by provider

),

storage_coefficients as (

    select
        provider,
        qualifier as storage_media,
        value as wh_per_tb_hour
    from coefficients
    where coefficient = 'storage_wh_per_tb_hour'

),

replication_factors as (

    select
        provider,
        qualifier as replication_class,
        value as replication_factor
    from coefficients
    where coefficient = 'replication_factor'

),

network_coefficients as (

    select
        provider,
        qualifier as network_class,
        value as kwh_per_gb
    from coefficients
    where coefficient = 'network_kwh_per_gb'

),

powered as (

    select
        parts.*,
        gpu_power.idle_w + settings.gpu_utilisation_default * (gpu_power.max_w - gpu_power.idle_w) as gpu_power_w,
        provider_coefficients.min_watts_per_vcpu
        + provider_coefficients.cpu_utilisation
        * (provider_coefficients.max_watts_per_vcpu - provider_coefficients.min_watts_per_vcpu) as vcpu_power_w,
        provider_coefficients.memory_kwh_per_gb_hour,
        storage_coefficients.wh_per_tb_hour as storage_wh_per_tb_hour,
        coalesce(replication_factors.replication_factor, default_replication.replication_factor)
            as replication_factor,
        network_coefficients.kwh_per_gb as network_kwh_per_gb
    from parts
    cross join settings
    left join provider_coefficients
        on parts.provider = provider_coefficients.provider
    left join gpu_power
        on parts.gpu_model = gpu_power.gpu_model
    left join storage_coefficients
        on
            parts.provider = storage_coefficients.provider
            and parts.storage_media = storage_coefficients.storage_media
    left join replication_factors
        on
            parts.provider = replication_factors.provider
            and parts.replication_class = replication_factors.replication_class
    left join replication_factors as default_replication
        on
            parts.provider = default_replication.provider
            and default_replication.replication_class = 'DEFAULT'
    left join network_coefficients
        on
            parts.provider = network_coefficients.provider
            and parts.network_class = network_coefficients.network_class

),

estimated as (

    select
        *,
        case activity
            when 'gpu' then gpu_hours * gpu_power_w / 1000
            when 'cpu' then vcpu_hours * vcpu_power_w / 1000
            when 'memory' then memory_gb_hours * memory_kwh_per_gb_hour
            when 'storage' then storage_tb_hours * storage_wh_per_tb_hour * replication_factor / 1000
            when 'network' then network_gb * network_kwh_per_gb
        end as modelled_kwh
    from powered

),

-- Each billing row's energy and number of parts, summed on the narrow
-- columns and joined back: a window over the wide part rows sorts every
-- column of them (a third of the model's time at 10M line items).
billing_row_energy as (

    select
        billing_row_id,
        sum(coalesce(modelled_kwh, 0)) as row_kwh,
        count(*) as row_parts
    from estimated
    group by billing_row_id

),

costed as (

    select
        estimated.*,
        coalesce(estimated.modelled_kwh, 0) as it_kwh,
        -- false: usage the model has no coefficient for (an unknown instance
        -- type, a GPU model without power data, a service billed per request)
        estimated.modelled_kwh is not null as is_energy_modelled,
        'estimated' as tier,
        case
            when billing_row_energy.row_kwh > 0
                then estimated.cost * coalesce(estimated.modelled_kwh, 0) / billing_row_energy.row_kwh
            else estimated.cost / billing_row_energy.row_parts
        end as part_cost,
        {{ monthly_state_columns('estimated.month', monthly) }}
    from estimated
    inner join billing_row_energy
        on estimated.billing_row_id = billing_row_energy.billing_row_id

)

select * from costed
{{ stored_in_month_order('month') }}
