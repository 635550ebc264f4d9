{{ config(materialized='table') }}

-- One row per registered customer with orders, measured as of the newest day of the data (the
-- window's last day when it is later): a run for an old window never turns the table back in
-- time, and every run that sees the same data gives the same numbers. The original showcase's
-- columns keep their names and types (segment, is_active_180d as 1/0); rfm_segment is the same
-- segment under this project's name.

with as_of as (

    -- every order counts here, anonymous ones too: the newest day of the data
    select {{ newest_day('order_date') }} as as_of_date
    from {{ ref('agg_store_days') }}

),

customers as (

    select * from {{ ref('dim_customer') }}

),

customer_orders as (

    -- from the customer-day rollup (a row per customer, day, store and order type), not from
    -- every order line: the same sums, a fraction of the rows
    select
        customer_days.customer_key,
        cast(sum(customer_days.orders) as {{ dbt.type_bigint() }}) as orders_all_time,
        -- the original's window: order_date >= as_of - 180 days, 181 days with both ends
        cast(sum(
            case
                when {{ dbt.datediff('customer_days.order_date', 'as_of.as_of_date', 'day') }} <= 180  -- noqa: LT05
                    then customer_days.orders
                else 0
            end
        ) as {{ dbt.type_bigint() }}) as orders_past_180_days,
        max(customer_days.order_date) as last_order_date,
        sum(customer_days.revenue) as ltv
    from {{ ref('agg_customer_days') }} as customer_days
    cross join as_of
    group by customer_days.customer_key

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
        {{ dbt.datediff('customer_orders.last_order_date', 'as_of.as_of_date', 'day') }}
            as days_since_last_order,
        cast(customer_orders.ltv as {{ type_money() }}) as ltv,
        {{ dbt.datediff('customers.registration_date', 'as_of.as_of_date', 'day') }}
            as customer_age_days,
        {{ cents_to_money(div_round_half_up(
            money_to_cents('customer_orders.ltv'), 'customer_orders.orders_all_time'
        )) }} as avg_order_value,
        as_of.as_of_date
    from customer_orders
    inner join customers
        on customer_orders.customer_key = customers.customer_key
    cross join as_of

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
