select
    {{ surrogate_key('customer_id') }} as customer_key,
    customer_id,
    discount_rate,
    registration_date
from {{ ref('stg_customers') }}
