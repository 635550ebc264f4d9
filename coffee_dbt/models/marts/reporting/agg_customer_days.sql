{{ config(**incremental_by_date_config('order_date', cluster_by=['customer_id'])) }}
-- Before it replaces a day, it says so: agg_customers carries on from its previous build only
-- while no day it counted has changed (macros/customer_days_changes.sql).
{{ config(pre_hook=["{{ create_customer_days_changes() }}", "{{ log_customer_days_change() }}"]) }}

-- One row per registered customer, day, store and order type: their orders and what they
-- spent. agg_customers sums it per customer; the customer report counts distinct
-- customers in any selection from it.

select
    order_date,
    customer_id,
    customer_key,
    store_id,
    order_type,
    cast(count(distinct order_key) as {{ dbt.type_bigint() }}) as orders,
    sum(total_amount) as revenue
from {{ ref('flat_order_details') }}
where
    is_registered_customer
{% if is_incremental() %}
    and {{ window_filter('order_date') }}
{% endif %}
group by order_date, customer_id, customer_key, store_id, order_type
