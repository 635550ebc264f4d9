{#-
    agg_customers (one row per customer) is kept up to date from its previous build and the days
    agg_customer_days gained since: work in proportion to the customers and the new days, not to
    the history. That holds as long as no day it has already counted changed. A day that changed
    cannot be subtracted: agg_customer_days replaces a re-run day's rows, and the old ones are
    gone. So agg_customer_days writes ahead, before it replaces anything, which days it is about
    to replace (all of them on a full rebuild) in a small table, agg_customer_days_changes:

      - agg_customer_days' pre-hooks: log_customer_days_change() records the run's window (or
        "everything": no window, a full refresh, the first build);
      - agg_customers reads the pending entries (customers_state_since()): if one of them touches
        a day it already counted, it rebuilds from the whole rollup; otherwise it adds the days
        after its as-of day;
      - agg_customers' post-hook, customer_days_changes_seen(), clears the entries it accounted
        for.

    A crash anywhere leaves at worst an entry that makes the next build a full rebuild: on
    DuckDB the post-hook commits with the new table; on BigQuery, with no transaction, an entry
    left over after a build only costs a rebuild it did not need. Nothing the rollup replaced is
    ever missed: the entry is written before the replacement starts.
-#}


{% macro customer_days_changes_relation() %}
    {{ return(api.Relation.create(
        database=target.database, schema=target.schema, identifier='agg_customer_days_changes'
    )) }}
{% endmacro %}


{#- The first pre-hook of agg_customer_days and of agg_customers: the table of pending changes,
    if it is not there yet (it is a table of the warehouse, not a model: the models write it as
    they build, and dbt's cache of relations does not see it). -#}
{% macro create_customer_days_changes() %}
    create table if not exists {{ customer_days_changes_relation() }} (
        changed_from date,
        changed_to date,
        invocation_id {{ dbt.type_string() }}
    )
{% endmacro %}


{#- agg_customer_days' second pre-hook: the days this build is about to replace; null bounds
    mean every day (a build without a window, a full refresh, the first build). -#}
{% macro log_customer_days_change() %}
    {%- set window = window_bounds() if is_incremental() else none -%}
    insert into {{ customer_days_changes_relation() }} (changed_from, changed_to, invocation_id)
    values (
        {{ date_literal(window['min_date']) if window else 'cast(null as date)' }},
        {{ date_literal(window['max_date']) if window else 'cast(null as date)' }},
        '{{ invocation_id }}'
    )
{% endmacro %}


{#- agg_customers' post-hook: the changes it has just accounted for are no longer pending.
    (dbt serializes the models of one invocation, and the pipeline serializes dbt runs on a
    warehouse, so no entry arrives between the build and this statement.) -#}
{% macro customer_days_changes_seen() %}
    delete from {{ customer_days_changes_relation() }} where true
{% endmacro %}


{#- While agg_customers runs: the as-of day of its previous build when it can carry on from it,
    as an ISO date; none when it must be rebuilt from the whole rollup (no previous build, a full
    refresh, a build without a window, or a pending change on a day the previous build counted). -#}
{% macro customers_state_since() %}
    {%- if not execute or should_full_refresh() or window_bounds() is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set previous = load_relation(this) -%}
    {#- No table of changes when the run started: nothing says which days changed. -#}
    {%- set changes = load_relation(customer_days_changes_relation()) -%}
    {%- if previous is none or changes is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set found = run_query(
        'select cast(max(as_of_date) as ' ~ dbt.type_string() ~ '), count(*) from ' ~ previous
    ) -%}
    {%- set as_of, rows = found.rows[0][0], found.rows[0][1] -%}
    {%- if as_of is none or rows == 0 -%}
        {{ return(none) }}
    {%- endif -%}
    {#- the value may come back as text or as a date, whichever way the adapter reads it -#}
    {%- set as_of = (as_of | string)[:10] -%}
    {%- set touched = run_query(
        'select count(*) from ' ~ changes ~ ' where changed_from is null or changed_from <= '
        ~ date_literal(as_of)
    ) -%}
    {%- if touched.rows[0][0] > 0 -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return(as_of) }}
{% endmacro %}
