select
    PriceId as price_id,
    ProductId as product_id,
    Price as price,
    ValidFrom as valid_from,
    ValidTo as valid_to
from {{ source('coffee_shop', 'product_prices') }}
