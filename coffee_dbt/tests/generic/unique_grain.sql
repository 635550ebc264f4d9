{#-
    The model has one row per combination of `columns` (its grain). Reads the run's window only
    on a daily model, like every test of one (macros/test_window.sql).
-#}
{% test unique_grain(model, columns) %}

select
    {{ columns | join(', ') }},
    count(*) as n_records
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1

{% endtest %}
