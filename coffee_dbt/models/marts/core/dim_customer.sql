with customers as (

    select * from {{ source('coffee_shop', 'customers') }}

)

select
    {{ surrogate_key('CustomerId') }} as customer_key,
    CustomerId as customer_id,
    LevelOfDiscount as discount_rate,
    RegistrationDate as registration_date
from customers
