{{ config(severity='warn') }}
-- Azure's Carbon Optimization monthly summaries name no subscription, so they
-- cannot be shared among the subscription's billing rows and are left out of
-- int_provider_emissions_unioned (methodology.md section 4). A warning names
-- the months landed that way: configure report_type ItemDetailsReport.
select
    usage_month,
    report_type,
    count(*) as items,
    sum(emissions_kg) as emissions_kg
from {{ ref('stg_azure__carbon_emissions') }}
where subscription_id is null
group by usage_month, report_type
