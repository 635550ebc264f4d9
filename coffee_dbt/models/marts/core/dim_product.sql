select
    {{ surrogate_key('product_id') }} as product_key,
    product_id,
    product_name,
    product_category,
    price
from {{ ref('stg_products') }}
