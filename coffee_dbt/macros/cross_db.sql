{#-
    Small cross-database helpers: DuckDB (default__) and BigQuery (bigquery__).
    Everything else uses dbt's built-in cross-database macros (dbt.hash, dbt.datediff, dbt.type_*).
-#}


{#- Surrogate key: md5 hex of the natural id as a string (null stays null). -#}
{% macro surrogate_key(column) -%}
    {{ dbt.hash(dbt.cast(column, dbt.type_string())) }}
{%- endmacro %}


{#- Money and rate column types. -#}
{% macro type_money() %}{{ return(adapter.dispatch('type_money', 'coffee_dbt')()) }}{% endmacro %}
{% macro default__type_money() %}{{ return('decimal(18, 2)') }}{% endmacro %}
{% macro bigquery__type_money() %}{{ return('numeric') }}{% endmacro %}

{% macro type_rate() %}{{ return(adapter.dispatch('type_rate', 'coffee_dbt')()) }}{% endmacro %}
{% macro default__type_rate() %}{{ return('decimal(4, 2)') }}{% endmacro %}
{% macro bigquery__type_rate() %}{{ return('numeric') }}{% endmacro %}


{#-
    Exact money arithmetic in integer cents. DuckDB divides decimals in floating point and
    BigQuery in NUMERIC, so a ratio such as 0.15 / 2 could round to different cents; integers
    round the same everywhere.
-#}
{% macro money_to_cents(amount) -%}
    cast(round(({{ amount }}) * 100) as {{ dbt.type_bigint() }})
{%- endmacro %}


{% macro cents_to_money(cents) -%}
    {{ return(adapter.dispatch('cents_to_money', 'coffee_dbt')(cents)) }}
{%- endmacro %}

{% macro default__cents_to_money(cents) -%}
    cast(cast({{ cents }} as decimal(18, 0)) * 0.01 as {{ type_money() }})
{%- endmacro %}

{% macro bigquery__cents_to_money(cents) -%}
    cast({{ cents }} as numeric) / 100
{%- endmacro %}


{#- numerator / denominator rounded half up, for integers numerator >= 0 and denominator > 0. -#}
{% macro div_round_half_up(numerator, denominator) -%}
    {{ return(adapter.dispatch('div_round_half_up', 'coffee_dbt')(numerator, denominator)) }}
{%- endmacro %}

{% macro default__div_round_half_up(numerator, denominator) -%}
    ((2 * ({{ numerator }}) + ({{ denominator }})) // (2 * ({{ denominator }})))
{%- endmacro %}

{#- Each argument of DIV in its own parentheses: the BigQuery emulator the tests use turns
    div(a + b, 2 * c) into a + b // 2 * c (SQLGlot drops the grouping), real BigQuery does not. -#}
{% macro bigquery__div_round_half_up(numerator, denominator) -%}
    div((2 * ({{ numerator }}) + ({{ denominator }})), (2 * ({{ denominator }})))
{%- endmacro %}


{#-
    One row per day, column date_day, from start_column to end_column (inclusive) of the
    one-row relation or CTE `bounds`.
-#}
{% macro date_series(bounds, start_column, end_column) -%}
    {{ return(adapter.dispatch('date_series', 'coffee_dbt')(bounds, start_column, end_column)) }}
{%- endmacro %}

{% macro default__date_series(bounds, start_column, end_column) -%}
    select cast(series.date_day as date) as date_day
    from {{ bounds }}
    cross join generate_series(
        {{ bounds }}.{{ start_column }}, {{ bounds }}.{{ end_column }}, interval 1 day
    ) as series (date_day)
{%- endmacro %}

{% macro bigquery__date_series(bounds, start_column, end_column) -%}
    select date_day
    from {{ bounds }}
    cross join unnest(generate_date_array(
        {{ bounds }}.{{ start_column }}, {{ bounds }}.{{ end_column }}, interval 1 day
    )) as date_day
{%- endmacro %}


{#- ISO day of week: 1 = Monday ... 7 = Sunday. (BigQuery's DAYOFWEEK is 1 = Sunday.) -#}
{% macro iso_day_of_week(date_expr) -%}
    {{ return(adapter.dispatch('iso_day_of_week', 'coffee_dbt')(date_expr)) }}
{%- endmacro %}

{% macro default__iso_day_of_week(date_expr) -%}
    cast(isodow({{ date_expr }}) as {{ dbt.type_bigint() }})
{%- endmacro %}

{% macro bigquery__iso_day_of_week(date_expr) -%}
    cast(mod(extract(dayofweek from {{ date_expr }}) + 5, 7) + 1 as {{ dbt.type_bigint() }})
{%- endmacro %}


{#- English day name: Monday ... Sunday. -#}
{% macro day_name(date_expr) -%}
    {{ return(adapter.dispatch('day_name', 'coffee_dbt')(date_expr)) }}
{%- endmacro %}

{% macro default__day_name(date_expr) -%}
    dayname({{ date_expr }})
{%- endmacro %}

{% macro bigquery__day_name(date_expr) -%}
    format_date('%A', {{ date_expr }})
{%- endmacro %}


{#- A discount rate (0.05) as the original showcase wrote it: '5%'; null stays null. -#}
{% macro discount_percent(rate) -%}
    {{ dbt.concat([dbt.cast('cast(round(' ~ rate ~ ' * 100) as ' ~ dbt.type_int() ~ ')', dbt.type_string()), "'%'"]) }}
{%- endmacro %}
