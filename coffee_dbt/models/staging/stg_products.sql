select
    ProductId as product_id,
    ProductName as product_name,
    ProductCategory as product_category,
    Price as price
from {{ source('coffee_shop', 'products') }}
