with

source as (

    {{ landing_source('landing', 'quarantine') }}

),

renamed as (

    select
        -- ids
        {{ surrogate_key(['source', 'dataset', 'partition', 'file', 'line_number', 'field', 'file_row_number']) }}
            as quarantined_row_id,

        -- dimensions
        source as landing_source,
        dataset as landing_dataset,
        partition as partition_key,
        file as source_file,
        line_number,
        field as field_name,
        reason,
        raw as raw_record,
        month as landed_month

    from source

)

select * from renamed
