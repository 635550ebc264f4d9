select
    OrderDetailId as order_detail_id,
    OrderId as order_id,
    ProductId as product_id,
    Quantity as quantity,
    OrderDate as order_date
from {{ source('coffee_shop', 'order_details') }}
