{{ config(
    materialized='table',
    pre_hook=["{{ create_customer_days_changes() }}"],
    post_hook=["{{ customer_days_changes_seen() }}"],
) }}

-- One row per registered customer with orders, as of as_of_date (the newest day of the data, or
-- the window's last day when it is later): first and last order day, orders and revenue of all
-- time, orders in the trailing 180 days. flat_customer_metrics ranks these into RFM segments.
--
-- Carried on from its previous build (work in proportion to the customers and the new days, not
-- to the history): the days of agg_customer_days after the previous as-of day are added, and the
-- days that leave the 180-day window as the as-of day moves are taken out of the recent orders.
-- When a day it already counted has changed since (a re-run or a repair of an old day: a pending
-- entry of agg_customer_days_changes, macros/customer_days_changes.sql), without a window, on a
-- full refresh and on the first build, it is rebuilt from the whole rollup. Both ways give the
-- same rows.

{%- set since = customers_state_since() %}

with as_of as (

    -- every order counts here, anonymous ones too: the newest day of the data
    select {{ newest_day('order_date') }} as as_of_date
    from {{ ref('agg_store_days') }}

),

counted as (

    -- per customer, the rollup's days this build counts: every day on a rebuild, the days
    -- after the previous as-of day (the ones this run's window brought) on a carry-on
    select
        customer_days.customer_key,
        min(customer_days.order_date) as first_order_date,
        max(customer_days.order_date) as last_order_date,
        sum(customer_days.orders) as orders,
        sum(customer_days.revenue) as revenue,
        -- the original's window: order_date >= as_of - 180 days, 181 days with both ends
        sum(
            case
                when {{ dbt.datediff('customer_days.order_date', 'as_of.as_of_date', 'day') }} <= 180  -- noqa: LT05
                    then customer_days.orders
                else 0
            end
        ) as recent_orders
    from {{ ref('agg_customer_days') }} as customer_days
    cross join as_of
    {% if since is not none %}
    where customer_days.order_date > {{ date_literal(since) }}
    {% endif %}
    group by customer_days.customer_key

),

{% if since is none %}

customers as (

    select
        customer_key,
        first_order_date,
        last_order_date,
        orders as orders_all_time,
        revenue as ltv,
        recent_orders as orders_past_180_days
    from counted

)

{% else %}

{%- set previous_as_of = modules.datetime.date.fromisoformat(since) %}
{%- set recent_from = previous_as_of - modules.datetime.timedelta(days=180) %}

previous as (

    select * from {{ this }}

),

leaving as (

    -- the days the previous build counted as recent and this one does not
    select
        customer_days.customer_key,
        sum(customer_days.orders) as orders
    from {{ ref('agg_customer_days') }} as customer_days
    cross join as_of
    where
        customer_days.order_date between {{ date_literal(recent_from) }} and {{ date_literal(since) }}
        and {{ dbt.datediff('customer_days.order_date', 'as_of.as_of_date', 'day') }} > 180
    group by customer_days.customer_key

),

customers as (

    select
        coalesce(previous.customer_key, counted.customer_key) as customer_key,
        coalesce(previous.first_order_date, counted.first_order_date) as first_order_date,
        coalesce(counted.last_order_date, previous.last_order_date) as last_order_date,
        coalesce(previous.orders_all_time, 0) + coalesce(counted.orders, 0) as orders_all_time,
        coalesce(previous.ltv, 0) + coalesce(counted.revenue, 0) as ltv,
        coalesce(previous.orders_past_180_days, 0)
        - coalesce(leaving.orders, 0)
        + coalesce(counted.recent_orders, 0) as orders_past_180_days
    from previous
    full outer join counted
        on previous.customer_key = counted.customer_key
    left join leaving
        on previous.customer_key = leaving.customer_key

)

{% endif %}

select
    customers.customer_key,
    customers.first_order_date,
    customers.last_order_date,
    cast(customers.orders_all_time as {{ dbt.type_bigint() }}) as orders_all_time,
    cast(customers.ltv as {{ type_money() }}) as ltv,
    cast(customers.orders_past_180_days as {{ dbt.type_bigint() }}) as orders_past_180_days,
    as_of.as_of_date
from customers
cross join as_of
