-- The rollups hold what flat_order_details holds, per day, store and order type, for the run's
-- days: orders, revenue and items of agg_store_days, revenue of agg_store_day_categories,
-- orders of agg_store_day_mixes, orders and revenue of agg_customer_days (registered
-- customers). Returns the slices that differ.

with lines as (

    select
        order_date,
        store_id,
        order_type,
        count(distinct order_key) as orders,
        sum(total_amount) as revenue,
        sum(quantity) as items,
        count(distinct case when is_registered_customer then order_key end) as registered_orders,
        sum(case when is_registered_customer then total_amount else 0 end) as registered_revenue
    from {{ ref('flat_order_details') }}
    where {{ window_filter('order_date') }}
    group by order_date, store_id, order_type

),

store_days as (

    select * from {{ ref('agg_store_days') }}
    where {{ window_filter('order_date') }}

),

categories as (

    select
        order_date,
        store_id,
        order_type,
        sum(revenue) as revenue
    from {{ ref('agg_store_day_categories') }}
    where {{ window_filter('order_date') }}
    group by order_date, store_id, order_type

),

mixes as (

    select
        order_date,
        store_id,
        order_type,
        sum(orders) as orders
    from {{ ref('agg_store_day_mixes') }}
    where {{ window_filter('order_date') }}
    group by order_date, store_id, order_type

),

customers as (

    select
        order_date,
        store_id,
        order_type,
        sum(orders) as orders,
        sum(revenue) as revenue
    from {{ ref('agg_customer_days') }}
    where {{ window_filter('order_date') }}
    group by order_date, store_id, order_type

)

select
    lines.order_date,
    lines.store_id,
    lines.order_type
from lines
left join store_days
    on
        lines.order_date = store_days.order_date
        and lines.store_id = store_days.store_id
        and lines.order_type = store_days.order_type
left join categories
    on
        lines.order_date = categories.order_date
        and lines.store_id = categories.store_id
        and lines.order_type = categories.order_type
left join mixes
    on
        lines.order_date = mixes.order_date
        and lines.store_id = mixes.store_id
        and lines.order_type = mixes.order_type
left join customers
    on
        lines.order_date = customers.order_date
        and lines.store_id = customers.store_id
        and lines.order_type = customers.order_type
where
    store_days.orders is distinct from lines.orders
    or store_days.revenue is distinct from lines.revenue
    or store_days.items is distinct from lines.items
    or store_days.registered_orders is distinct from lines.registered_orders
    or store_days.registered_revenue is distinct from lines.registered_revenue
    or categories.revenue is distinct from lines.revenue
    or mixes.orders is distinct from lines.orders
    or coalesce(customers.orders, 0) != lines.registered_orders
    or coalesce(customers.revenue, 0) != lines.registered_revenue
