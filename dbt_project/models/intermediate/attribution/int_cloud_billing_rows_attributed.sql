-- A view: one model reads it, so the rows are never written out in between.
{{ config(materialized='view') }}

-- Each cloud billing row's AI system: AWS by resource tag (CUR or FOCUS), GCP
-- by label (the row's, then its project's; FOCUS tags), Azure by resource tag
-- (FOCUS tags); the first rule by rule_order wins.
--
-- The month is carried through the rule matching and joined on, and the rows
-- are inlined into both readers (cte_inlined), so that an incremental model
-- reading one month of this view matches the rules for that month's rows only.
with

billing_rows as {{ cte_inlined() }} (

    select * from {{ ref('int_cloud_billing_rows_unioned') }}

),

systems as (

    select * from {{ ref('stg_org__systems') }}

),

first_matches as (

    {{ first_matching_rule('billing_rows', 'billing_row_id', [
        ('aws_tag', "case when candidate_rows.provider = 'aws' then "
            ~ map_value('candidate_rows.tags', 'rules.tag_key') ~ " end"),
        ('gcp_label', "case when candidate_rows.provider = 'gcp' then "
            ~ map_value('candidate_rows.tags', 'rules.tag_key') ~ " end"),
        ('azure_tag', "case when candidate_rows.provider = 'azure' then "
            ~ map_value('candidate_rows.tags', 'rules.tag_key') ~ " end"),
    ], carried=['month']) }}

),

attributed as (

    select
        billing_rows.*,
        coalesce(first_matches.system_id, 'unattributed') as system_id,
        systems.system_kind,
        first_matches.rule_order as matched_rule_order
    from billing_rows
    left join first_matches
        on
            billing_rows.month = first_matches.month
            and billing_rows.billing_row_id = first_matches.billing_row_id
    left join systems
        on first_matches.system_id = systems.system_id

)

select * from attributed
