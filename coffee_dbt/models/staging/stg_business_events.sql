select
    EventId as event_id,
    EventType as event_type,
    Name as event_name,
    StartDate as start_date,
    EndDate as end_date,
    StoreId as store_id,
    ProductId as product_id,
    ProductCategory as product_category
from {{ source('coffee_shop', 'business_events') }}
