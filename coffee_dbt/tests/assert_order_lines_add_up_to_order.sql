-- Every order's lines add up exactly to the order: sub total, discount and total amount.
-- Returns the orders of the window that don't (including an order without lines in the fact).
-- The quarantined days and the days accepted as they are stay out (without_days).

with line_totals as (

    select
        order_key,
        sum(sub_total) as sub_total,
        sum(discount_amount) as discount_amount,
        sum(total_amount) as total_amount
    from {{ ref('fact_order_details') }}
    where {{ window_filter('order_date') }} and {{ without_days('order_date') }}
    group by order_key

),

orders as (

    select
        {{ surrogate_key('order_id') }} as order_key,
        order_id,
        order_date,
        sub_total,
        discount_amount,
        total_amount
    from {{ ref('stg_orders') }}
    where {{ window_filter('order_date') }} and {{ without_days('order_date') }}

)

select
    orders.order_id,
    orders.order_date,
    orders.sub_total,
    line_totals.sub_total as lines_sub_total,
    orders.discount_amount,
    line_totals.discount_amount as lines_discount_amount,
    orders.total_amount,
    line_totals.total_amount as lines_total_amount
from orders
left join line_totals
    on orders.order_key = line_totals.order_key
where
    line_totals.order_key is null
    or line_totals.sub_total != orders.sub_total
    or line_totals.discount_amount != orders.discount_amount
    or line_totals.total_amount != orders.total_amount
