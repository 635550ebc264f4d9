-- A day's revenue in the marts equals that day's TotalAmount in the raw orders, to the cent,
-- for the fact and for flat_order_details. Returns the days that differ. The quarantined days
-- and the days accepted as they are stay out (without_days).

with raw_orders as (

    select
        order_date,
        sum(total_amount) as revenue
    from {{ ref('stg_orders') }}
    where {{ window_filter('order_date') }} and {{ without_days('order_date') }}
    group by order_date

),

fact as (

    select
        order_date,
        sum(total_amount) as revenue
    from {{ ref('fact_order_details') }}
    where {{ window_filter('order_date') }} and {{ without_days('order_date') }}
    group by order_date

),

flat as (

    select
        order_date,
        sum(total_amount) as revenue
    from {{ ref('flat_order_details') }}
    where {{ window_filter('order_date') }} and {{ without_days('order_date') }}
    group by order_date

)

select
    coalesce(raw_orders.order_date, fact.order_date, flat.order_date) as order_date,
    raw_orders.revenue as raw_revenue,
    fact.revenue as fact_revenue,
    flat.revenue as flat_revenue
from raw_orders
full outer join fact
    on raw_orders.order_date = fact.order_date
full outer join flat
    on coalesce(raw_orders.order_date, fact.order_date) = flat.order_date
where
    raw_orders.revenue is null
    or fact.revenue is null
    or flat.revenue is null
    or raw_orders.revenue != fact.revenue
    or raw_orders.revenue != flat.revenue
