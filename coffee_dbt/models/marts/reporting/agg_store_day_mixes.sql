{{ config(**incremental_by_date_config('order_date', cluster_by=['store_id'])) }}

-- One row per day, store, order type and product mix: how many orders combine which
-- categories (an order has one mix; a count of orders adds up over days and stores).

select
    order_date,
    store_id,
    order_type,
    product_mix_type,
    cast(count(distinct order_key) as {{ dbt.type_bigint() }}) as orders
from {{ ref('flat_order_details') }}
{% if is_incremental() %}
where {{ window_filter('order_date') }}
{% endif %}
group by order_date, store_id, order_type, product_mix_type
