{#-
    The daily run's data tests read the run's days, not the history.

    dbt reads the model under a generic test through get_where_subquery(), the macro behind
    dbt's `where` test config. This override adds the run's window to it for every test of a
    model whose config names its day column in meta.window_column (incremental_by_date_config
    sets it; dim_order sets it in its yml): `unique` on fact_order_details then reads the run's
    days only. The test's own `where` config, when it has one, still applies.

    Without window vars (a run without a partition: the weekly whole-table pass, `dbt test` by
    hand) a test reads the whole table, and finds what no window can: a key repeated across
    days. The `to` model of a relationships test is never filtered, only the model under test.
    The days quarantined or accepted as they are (vars skip_days, accepted_days) stay out of the
    tests of a model with a window column (window.sql, without_days).
-#}
{% macro get_where_subquery(relation) -%}
    {%- set conditions = [] -%}
    {%- set where = config.get('where') -%}
    {%- if where -%}
        {%- do conditions.append('(' ~ where ~ ')') -%}
    {%- endif -%}
    {%- set column = tested_model_window_column() -%}
    {%- if column is not none and window_bounds() is not none -%}
        {%- do conditions.append(window_filter(column)) -%}
    {%- endif -%}
    {%- if column is not none and without_days(column) != '1 = 1' -%}
        {%- do conditions.append(without_days(column)) -%}
    {%- endif -%}
    {%- if not conditions -%}
        {%- do return(relation) -%}
    {%- endif -%}
    {%- set filtered -%}
        (select * from {{ relation }} where {{ conditions | join(' and ') }}) dbt_subquery
    {%- endset -%}
    {%- do return(filtered) -%}
{%- endmacro %}


{#- The window column of the model a generic test is attached to (meta.window_column), or none. -#}
{% macro tested_model_window_column() %}
    {%- if not execute -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set attached = model.get('attached_node') if model is mapping else model.attached_node -%}
    {%- set parent = graph.nodes.get(attached) if attached else none -%}
    {%- if parent is none -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return(parent.get('config', {}).get('meta', {}).get('window_column')) }}
{% endmacro %}
