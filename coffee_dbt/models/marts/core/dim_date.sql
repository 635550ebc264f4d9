-- One row per day from var start_date (or the first order, if earlier) to the last order.

with bounds as (

    select
        least({{ start_date() }}, coalesce(min(order_date), {{ start_date() }})) as first_day,
        greatest({{ start_date() }}, coalesce(max(order_date), {{ start_date() }})) as last_day
    from {{ ref('stg_orders') }}

),

days as (

    {{ date_series('bounds', 'first_day', 'last_day') }}

)

select
    cast(
        extract(year from date_day) * 10000
        + extract(month from date_day) * 100
        + extract(day from date_day)
        as {{ dbt.type_bigint() }}
    ) as date_key,
    date_day as date,
    cast(extract(year from date_day) as {{ dbt.type_bigint() }}) as year,
    cast(extract(quarter from date_day) as {{ dbt.type_bigint() }}) as quarter,
    cast(extract(month from date_day) as {{ dbt.type_bigint() }}) as month,
    cast(extract(day from date_day) as {{ dbt.type_bigint() }}) as day,
    {{ day_name('date_day') }} as day_name,
    {{ iso_day_of_week('date_day') }} as day_of_week,
    {{ iso_day_of_week('date_day') }} in (6, 7) as is_weekend
from days
