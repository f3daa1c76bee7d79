-- Every cloud energy coefficient for every provider: the provider's own value
-- where the seed has one, else the `*` (all providers) value.
with

coefficients as (

    select * from {{ ref('cloud_usage_coefficients') }}

),

cloud_regions as (

    select * from {{ ref('cloud_regions') }}

),

providers as (

    select distinct provider from cloud_regions

),

ranked as (

    select
        providers.provider,
        coefficients.coefficient,
        coefficients.qualifier,
        coefficients.value,
        coefficients.unit,
        row_number() over (
            partition by providers.provider, coefficients.coefficient, coefficients.qualifier
            order by case when coefficients.provider = providers.provider then 0 else 1 end
        ) as preference
    from providers
    inner join coefficients
        on coefficients.provider in (providers.provider, '*')

),

resolved as (

    select
        provider,
        coefficient,
        qualifier,
        value,
        unit
    from ranked
    where preference = 1

)

select * from resolved
