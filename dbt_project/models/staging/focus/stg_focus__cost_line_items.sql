with

source as (

    {{ landing_source('focus', 'cost_line_items') }}

),

renamed as (

    {{ focus_cost_line_items_renamed('focus.cost_line_items') }}

)

select * from renamed
