{{ config(**incremental_by_date_config('order_date', cluster_by=['store_id'])) }}

-- One row per day, store, order type and product category: items sold and revenue.

select
    order_date,
    store_id,
    order_type,
    product_category,
    cast(sum(quantity) as {{ dbt.type_bigint() }}) as items,
    sum(total_amount) as revenue
from {{ ref('flat_order_details') }}
{% if is_incremental() %}
where {{ window_filter('order_date') }}
{% endif %}
group by order_date, store_id, order_type, product_category
