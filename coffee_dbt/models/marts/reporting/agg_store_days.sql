{{ config(**incremental_by_date_config('order_date', cluster_by=['store_id'])) }}

-- One row per day, store and order type: the day's sales, kept up to date by each run's days.
-- What the reports and the customer metrics read instead of every order line (the history's
-- lines are read once, when they are built).

select
    order_date,
    store_id,
    order_type,
    cast(count(distinct order_key) as {{ dbt.type_bigint() }}) as orders,
    sum(total_amount) as revenue,
    sum(sub_total) as sub_total,
    sum(discount_amount) as discount_amount,
    cast(sum(quantity) as {{ dbt.type_bigint() }}) as items,
    cast(
        count(distinct case when is_registered_customer then order_key end)
        as {{ dbt.type_bigint() }}
    ) as registered_orders,
    sum(case when is_registered_customer then total_amount else 0 end) as registered_revenue
from {{ ref('flat_order_details') }}
{% if is_incremental() %}
where {{ window_filter('order_date') }}
{% endif %}
group by order_date, store_id, order_type
