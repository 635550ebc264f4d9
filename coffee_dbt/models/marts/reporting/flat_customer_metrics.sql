-- One row per registered customer with orders, measured as of as_of_date() (the window's
-- max_date, or today without vars): only orders on or before that day count.

{%- set as_of = as_of_date() %}

with order_totals as (

    select
        customer_key,
        order_key,
        order_date,
        sum(total_amount) as order_total_amount
    from {{ ref('fact_order_details') }}
    where customer_key is not null
        and order_date <= {{ as_of }}
    group by customer_key, order_key, order_date

),

customers as (

    select * from {{ ref('dim_customer') }}

),

customer_orders as (

    select
        customer_key,
        count(*) as orders_all_time,
        cast(sum(
            case when {{ dbt.datediff('order_date', as_of, 'day') }} < 180 then 1 else 0 end
        ) as {{ dbt.type_bigint() }}) as orders_past_180_days,
        max(order_date) as last_order_date,
        sum(order_total_amount) as ltv
    from order_totals
    group by customer_key

),

customer_metrics as (

    select
        customers.customer_id,
        customers.customer_key,
        customers.discount_rate,
        customers.registration_date,
        customer_orders.orders_all_time,
        customer_orders.orders_past_180_days,
        customer_orders.orders_past_180_days > 0 as is_active_180d,
        customer_orders.last_order_date,
        {{ dbt.datediff('customer_orders.last_order_date', as_of, 'day') }} as days_since_last_order,
        cast(customer_orders.ltv as {{ type_money() }}) as ltv,
        {{ dbt.datediff('customers.registration_date', as_of, 'day') }} as customer_age_days,
        {{ cents_to_money(div_round_half_up(
            money_to_cents('customer_orders.ltv'), 'customer_orders.orders_all_time'
        )) }} as avg_order_value
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
        ntile(5) over (order by days_since_last_order desc, customer_key) as r_score,
        ntile(5) over (order by orders_all_time, customer_key) as f_score,
        ntile(5) over (order by ltv, customer_key) as m_score
    from customer_metrics

)

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
    end as rfm_segment,
    {{ as_of }} as as_of_date
from rfm_scores
