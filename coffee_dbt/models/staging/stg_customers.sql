-- Loyalty customers, renamed once: every model downstream reads snake_case columns.

select
    CustomerId as customer_id,
    LevelOfDiscount as discount_rate,
    RegistrationDate as registration_date
from {{ source('coffee_shop', 'customers') }}
