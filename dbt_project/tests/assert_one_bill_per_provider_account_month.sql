-- The same costs never count twice (methodology.md section 2): a provider's
-- billing account has the rows of one source per month - CUR 2.0 or the GCP
-- billing export, else AWS's FOCUS export, else FOCUS files. Returns the
-- provider, billing account and month that keep rows of several sources.
select
    provider,
    billing_account_id,
    month,
    count(distinct source) as sources
from {{ ref('int_cloud_billing_rows_unioned') }}
group by provider, billing_account_id, month
having count(distinct source) > 1
