{{ config(**incremental_by_date_config('order_date', cluster_by=['store_key', 'product_key'])) }}

{#-
    One row per order line. Line discounts split the order's DiscountAmount over its lines in
    proportion to their sub totals, with telescoping rounding so they add up exactly to the order's
    discount (and line totals to the order's TotalAmount):

        line discount = round(discount * sub total through this line / order sub total, 2)
                      - round(discount * sub total before this line / order sub total, 2)

    with lines in order_detail_id order. Computed in integer cents (round half up) so both
    warehouses give the same cents.
-#}

with order_details as (

    select * from {{ ref('stg_order_details') }}
    {% if is_incremental() %}
    where {{ window_filter('order_date') }}
    {% endif %}

),

orders as (

    select * from {{ ref('stg_orders') }}
    {% if is_incremental() %}
    where {{ window_filter('order_date') }}
    {% endif %}

),

products as (

    select * from {{ ref('stg_products') }}

),

prices as (

    select * from {{ ref('stg_product_prices') }}

),

customers as (

    select * from {{ ref('stg_customers') }}

),

order_lines as (

    select
        order_details.order_detail_id,
        orders.order_id,
        orders.customer_id,
        orders.store_id,
        order_details.product_id,
        orders.order_date,
        order_details.quantity,
        -- the price on the order's day (a promotion, a price change), else the menu's
        coalesce(prices.price, products.price) as price,
        coalesce(customers.discount_rate, 0) as discount_rate,
        {{ money_to_cents('coalesce(prices.price, products.price)') }}
        * order_details.quantity as line_sub_total_cents,
        {{ money_to_cents('orders.discount_amount') }} as order_discount_cents
    from order_details
    inner join orders
        on order_details.order_id = orders.order_id
    left join products
        on order_details.product_id = products.product_id
    left join prices
        on
            order_details.product_id = prices.product_id
            and orders.order_date >= prices.valid_from
            and (prices.valid_to is null or orders.order_date <= prices.valid_to)
    left join customers
        on orders.customer_id = customers.customer_id

),

running_totals as (

    select
        *,
        sum(line_sub_total_cents) over (
            partition by order_id
            order by order_detail_id
            rows between unbounded preceding and current row
        ) as sub_total_through_line_cents,
        sum(line_sub_total_cents) over (partition by order_id) as order_sub_total_cents
    from order_lines

),

allocated as (

    select
        *,
        case
            when order_discount_cents = 0 then 0
            else
                {{ div_round_half_up(
                    'order_discount_cents * sub_total_through_line_cents',
                    'order_sub_total_cents'
                ) }}
                - {{ div_round_half_up(
                    'order_discount_cents * (sub_total_through_line_cents - line_sub_total_cents)',
                    'order_sub_total_cents'
                ) }}
        end as line_discount_cents
    from running_totals

)

select
    {{ surrogate_key('order_detail_id') }} as order_detail_key,
    order_detail_id,
    {{ surrogate_key('order_id') }} as order_key,
    {{ surrogate_key('customer_id') }} as customer_key,  -- null for anonymous orders
    {{ surrogate_key('store_id') }} as store_key,
    {{ surrogate_key('product_id') }} as product_key,
    order_date,
    quantity,
    price,
    {{ cents_to_money('line_sub_total_cents') }} as sub_total,
    cast(discount_rate as {{ type_rate() }}) as discount_rate,
    {{ cents_to_money('line_discount_cents') }} as discount_amount,
    {{ cents_to_money('line_sub_total_cents - line_discount_cents') }} as total_amount
from allocated
