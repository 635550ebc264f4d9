{#-
    Incremental-by-date models (fact_order_details, flat_order_details, the agg_* rollups).

    The model SQL filters its input with window_filter() when is_incremental(); the config below
    makes the write replace exactly the window's days in the target, so a re-run of a window is
    idempotent, no other day is touched, and a day that now has no rows ends up empty.

      local (DuckDB): the custom strategy `replace_window` (below): in one transaction, delete the
                      window's days from the target, then insert the new rows.
      gcp (BigQuery): `insert_overwrite` on a table partitioned by day on the date column, with a
                      static `partitions` list holding every day of the window.

    Without a window the models are fully rebuilt from the sources (should_full_refresh(), in
    window.sql), on both targets. The first build (no table yet) always takes everything in the
    sources. The DuckDB config does not hold the window (the strategy reads it while the model
    runs), so a new window leaves dbt's parsed project valid; BigQuery's static partitions must be
    in the config, so on gcp the models using it are parsed again when the window changes.

    meta.window_column tells the data tests of the model to read the run's window only
    (macros/test_window.sql).

    cluster_by: on BigQuery, the columns the table is clustered by within each day (the store
    for the store-day tables: a store's days are read together), as dbt-bigquery takes it.

    Usage, first line of the model:  {{ config(**incremental_by_date_config('order_date')) }}
-#}

{% macro incremental_by_date_config(date_column, cluster_by=none) %}
    {%- set config = adapter.dispatch('incremental_by_date_config', 'coffee_dbt')(date_column, cluster_by) -%}
    {%- do config.update({'meta': {'window_column': date_column}}) -%}
    {{ return(config) }}
{% endmacro %}


{% macro default__incremental_by_date_config(date_column, cluster_by) %}
    {{ return({
        'materialized': 'incremental',
        'incremental_strategy': 'replace_window',
        'on_schema_change': 'fail',
    }) }}
{% endmacro %}


{% macro bigquery__incremental_by_date_config(date_column, cluster_by) %}
    {%- set partitions = [] -%}
    {%- for day in window_dates(at_parse=true) -%}
        {%- do partitions.append(date_literal(day)) -%}
    {%- endfor -%}
    {{ return({
        'materialized': 'incremental',
        'incremental_strategy': 'insert_overwrite',
        'partition_by': {'field': date_column, 'data_type': 'date', 'granularity': 'day'},
        'partitions': partitions if partitions else none,
        'cluster_by': cluster_by,
        'on_schema_change': 'fail',
    }) }}
{% endmacro %}


{#-
    Custom incremental strategy `replace_window` (dbt looks up get_incremental_<name>_sql).
    Deletes the target rows in the run's window (on meta.window_column) and matching the model's
    incremental_predicates, if any, then inserts the new rows that match them. dbt-duckdb runs
    both statements in the model's transaction.
-#}
{% macro get_incremental_replace_window_sql(arg_dict) %}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set source = arg_dict['temp_relation'] -%}
    {%- set predicates = arg_dict['incremental_predicates'] or [] -%}
    {%- if predicates is string -%}
        {%- set predicates = [predicates] -%}
    {%- endif -%}
    {%- set column = (config.get('meta') or {}).get('window_column') -%}
    {%- if column and window_bounds() is not none -%}
        {%- set predicates = predicates + [window_filter(column)] -%}
    {%- endif -%}
    {%- if not predicates -%}
        {{ exceptions.raise_compiler_error("replace_window needs a window (meta.window_column and the run's window) or incremental_predicates") }}
    {%- endif -%}
    {%- set columns_csv = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}

    delete from {{ target }}
    where {{ predicates | join(' and ') }};

    insert into {{ target }} ({{ columns_csv }})
    select {{ columns_csv }}
    from {{ source }}
    where {{ predicates | join(' and ') }}
{% endmacro %}
