-- The order's attributes; its money lives in fact_order_details (the lines add up to the order).

select
    {{ surrogate_key('order_id') }} as order_key,
    order_id,
    order_date,
    order_type,
    customer_id,
    {{ surrogate_key('customer_id') }} as customer_key,
    store_id,
    {{ surrogate_key('store_id') }} as store_key,
    discount_applied
from {{ ref('stg_orders') }}
