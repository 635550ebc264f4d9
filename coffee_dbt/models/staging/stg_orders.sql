select
    OrderId as order_id,
    OrderDate as order_date,
    OrderType as order_type,
    CustomerId as customer_id,
    StoreId as store_id,
    SubTotal as sub_total,
    DiscountAmount as discount_amount,
    TotalAmount as total_amount,
    DiscountApplied as discount_applied
from {{ source('coffee_shop', 'orders') }}
