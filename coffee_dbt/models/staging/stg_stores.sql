select
    StoreId as store_id,
    StoreName as store_name,
    District as district,
    City as city,
    Address as address,
    Latitude as latitude,
    Longitude as longitude,
    OpeningDate as opening_date
from {{ source('coffee_shop', 'stores') }}
