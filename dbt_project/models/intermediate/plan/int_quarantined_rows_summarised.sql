-- Rows the extractors quarantined, per landing source: how many, and which
-- dataset and field they failed on, with one reason of each as an example.
with

quarantined as (

    select * from {{ ref('stg_landing__quarantined_rows') }}

),

by_field as (

    select
        landing_source,
        landing_dataset,
        coalesce(field_name, 'whole line') as field_name,
        count(*) as quarantined_rows,
        min(reason) as example_reason
    from quarantined
    group by landing_source, landing_dataset, coalesce(field_name, 'whole line')

),

final as (

    select
        landing_source,
        sum(quarantined_rows) as quarantined_rows,
        {{ dbt.listagg(
            "landing_dataset || '.' || field_name || ' x' || cast(quarantined_rows as " ~ dbt.type_string()
            ~ ") || ' (e.g. ' || example_reason || ')'",
            "'; '",
            'order by quarantined_rows desc, landing_dataset, field_name'
        ) }} as reasons
    from by_field
    group by landing_source

)

select * from final
