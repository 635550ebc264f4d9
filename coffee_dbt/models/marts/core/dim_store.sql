select
    {{ surrogate_key('store_id') }} as store_key,
    store_id,
    store_name,
    district,
    city,
    address,
    latitude,
    longitude,
    opening_date
from {{ ref('stg_stores') }}
