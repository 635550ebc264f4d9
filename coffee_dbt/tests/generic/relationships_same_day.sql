{#-
    relationships, for a parent of the same day: every value of column_name in the model is a
    field of `to` on the same day. Both sides read the run's window only (the model through
    get_where_subquery, `to` through to_date_column), so a daily run tests its days and not the
    history; without window vars both read everything. Stronger than dbt's relationships: a line
    whose order is on another day fails too.
-#}
{% test relationships_same_day(model, column_name, to, field, date_column, to_date_column) %}

with child as (

    select
        {{ column_name }} as reference,
        {{ date_column }} as reference_date
    from {{ model }}
    where {{ column_name }} is not null

),

parent as (

    select
        {{ field }} as reference,
        {{ to_date_column }} as reference_date
    from {{ to }}
    where {{ window_filter(to_date_column) }}

)

select
    child.reference,
    child.reference_date
from child
left join parent
    on
        child.reference = parent.reference
        and child.reference_date = parent.reference_date
where parent.reference is null

{% endtest %}
