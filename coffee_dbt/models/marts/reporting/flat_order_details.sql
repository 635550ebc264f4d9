{{ config(**incremental_by_date_config(
    'order_date', cluster_by=['store_id', 'product_category']
)) }}

-- The fact joined to every dimension, one row per order line, for the dashboards.

with order_lines as (

    select * from {{ ref('fact_order_details') }}
    {% if is_incremental() %}
    where {{ window_filter('order_date') }}
    {% endif %}

),

orders as (

    select * from {{ ref('dim_order') }}
    {% if is_incremental() %}
    where {{ window_filter('order_date') }}
    {% endif %}

),

customers as (

    select * from {{ ref('dim_customer') }}

),

products as (

    select * from {{ ref('dim_product') }}

),

stores as (

    select * from {{ ref('dim_store') }}

),

dates as (

    select * from {{ ref('dim_date') }}

),

order_categories as (

    select
        order_lines.order_key,
        max(case when products.product_category = 'Beverage' then 1 else 0 end) as has_beverage,
        max(case when products.product_category = 'Pastry' then 1 else 0 end) as has_pastry,
        max(case when products.product_category = 'Savory' then 1 else 0 end) as has_savory
    from order_lines
    inner join products
        on order_lines.product_key = products.product_key
    group by order_lines.order_key

),

product_mix as (

    select
        order_key,
        case
            when has_beverage = 1 and has_pastry = 1 and has_savory = 1 then 'All Categories'
            when has_beverage = 1 and has_pastry = 1 then 'Beverage + Pastry'
            when has_beverage = 1 and has_savory = 1 then 'Beverage + Savory'
            when has_pastry = 1 and has_savory = 1 then 'Pastry + Savory'
            when has_beverage = 1 then 'Beverage Only'
            when has_pastry = 1 then 'Pastry Only'
            when has_savory = 1 then 'Savory Only'
        end as product_mix_type
    from order_categories

)

select
    -- one row per order line: keys
    order_lines.order_detail_key,
    order_lines.order_detail_id,
    order_lines.order_key,
    orders.order_id,
    order_lines.order_date,
    orders.order_type,
    orders.discount_applied,
    product_mix.product_mix_type,

    -- the store (latitude, longitude and address for the dashboards' map)
    order_lines.store_key,
    stores.store_id,
    stores.store_name,
    stores.district,
    stores.city,
    stores.address,
    stores.latitude,
    stores.longitude,

    -- the product
    order_lines.product_key,
    products.product_id,
    products.product_name,
    products.product_category,

    -- the customer (null for anonymous orders); level_of_discount as the original spelled it
    order_lines.customer_key,
    customers.customer_id,
    customers.registration_date,
    {{ discount_percent('customers.discount_rate') }} as level_of_discount,
    order_lines.customer_key is not null as is_registered_customer,

    -- the day
    dates.date_key,
    dates.year,
    dates.quarter,
    dates.month,
    dates.day_name,
    dates.day_of_week,
    dates.is_weekend,

    -- the money
    order_lines.quantity,
    cast(order_lines.price as {{ type_money() }}) as price,
    order_lines.sub_total,
    order_lines.discount_rate,
    order_lines.discount_amount,
    order_lines.total_amount
from order_lines
left join orders
    on order_lines.order_key = orders.order_key
left join product_mix
    on order_lines.order_key = product_mix.order_key
left join stores
    on order_lines.store_key = stores.store_key
left join products
    on order_lines.product_key = products.product_key
left join customers
    on order_lines.customer_key = customers.customer_key
left join dates
    on order_lines.order_date = dates.date
