with products as (

    select * from {{ source('coffee_shop', 'products') }}

)

select
    {{ surrogate_key('ProductId') }} as product_key,
    ProductId as product_id,
    ProductName as product_name,
    ProductCategory as product_category,
    Price as price
from products
