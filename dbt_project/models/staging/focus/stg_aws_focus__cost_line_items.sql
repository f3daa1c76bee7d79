with

source as (

    {{ landing_source('aws_focus', 'cost_line_items') }}

),

renamed as (

    {{ focus_cost_line_items_renamed('aws_focus.cost_line_items') }}

)

select * from renamed
