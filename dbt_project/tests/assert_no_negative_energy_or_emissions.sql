-- Energy and emissions are never negative (credits reduce cost, not carbon).
select *
from {{ ref('fct_emissions') }}
where energy_kwh < 0 or kg_co2e < 0
