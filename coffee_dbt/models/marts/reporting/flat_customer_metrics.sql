{{ config(materialized='table') }}

-- One row per registered customer with orders, measured as of agg_customers' as_of_date (the
-- newest day of the data, the window's last day when it is later): a run for an old window never
-- turns the table back in time, and every run that sees the same data gives the same numbers.
-- agg_customers holds each customer's orders; this model adds who they are and ranks them (work
-- in proportion to the customers). The original showcase's columns keep their names and types
-- (segment, is_active_180d as 1/0); rfm_segment is the same segment under this project's name.

with customers as (

    select * from {{ ref('dim_customer') }}

),

customer_orders as (

    -- one row per customer with orders, as of one day: the rollup kept up to date by day
    select * from {{ ref('agg_customers') }}

),

customer_metrics as (

    select
        customers.customer_id,
        customers.customer_key,
        customers.discount_rate,
        customers.registration_date,
        customer_orders.orders_all_time,
        customer_orders.orders_past_180_days,
        cast(
            case when customer_orders.orders_past_180_days > 0 then 1 else 0 end
            as {{ dbt.type_bigint() }}
        ) as is_active_180d,
        customer_orders.last_order_date,
        {{ dbt.datediff('customer_orders.last_order_date', 'customer_orders.as_of_date', 'day') }}
            as days_since_last_order,
        customer_orders.ltv,
        {{ dbt.datediff('customers.registration_date', 'customer_orders.as_of_date', 'day') }}
            as customer_age_days,
        {{ cents_to_money(div_round_half_up(
            money_to_cents('customer_orders.ltv'), 'customer_orders.orders_all_time'
        )) }} as avg_order_value,
        customer_orders.as_of_date
    from customer_orders
    inner join customers
        on customer_orders.customer_key = customers.customer_key

),

rfm_scores as (

    -- 5 = best: most recent, most orders, highest ltv. Ties are broken by customer_key (a hash):
    -- deterministic, and unbiased, where the id (registration date first) would always rank
    -- earlier registrants lower among equals.
    select
        *,
        ntile(5) over (order by days_since_last_order desc, customer_key asc) as r_score,
        ntile(5) over (order by orders_all_time asc, customer_key asc) as f_score,
        ntile(5) over (order by ltv asc, customer_key asc) as m_score
    from customer_metrics

),

segmented as (

    select
        *,
        -- first matching rule wins
        case
            when r_score > 4 and f_score > 4 and m_score > 4 then 'Champions'
            when r_score <= 3 and f_score <= 3 and m_score >= 4 then 'Big Spenders'
            when r_score >= 3 and f_score >= 4 and m_score >= 3 then 'Loyal'
            when r_score >= 4 and f_score <= 3 then 'New Customers'
            when r_score <= 2 and f_score >= 4 then 'At Risk'
            when r_score = 1 and f_score = 1 and m_score = 1 then 'Churned'
            else 'Other'
        end as segment
    from rfm_scores

)

select
    customer_id,
    customer_key,
    discount_rate,
    registration_date,
    orders_all_time,
    orders_past_180_days,
    is_active_180d,
    last_order_date,
    days_since_last_order,
    ltv,
    customer_age_days,
    avg_order_value,
    r_score,
    f_score,
    m_score,
    segment,
    segment as rfm_segment,
    as_of_date
from segmented
