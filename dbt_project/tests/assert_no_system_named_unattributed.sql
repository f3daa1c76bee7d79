-- `unattributed` is the system of what no rule matches; a configured system
-- of that name would merge with it.
select *
from {{ ref('stg_org__systems') }}
where system_id = 'unattributed'
