{#-
    The partition window.

    Dagster runs dbt with --vars '{"min_date": "2025-01-01", "max_date": "2025-01-03"}' (inclusive
    ISO dates; pass both or neither) and start_date, the first day of the history. These macros turn
    the vars into SQL that runs on DuckDB and BigQuery alike.
-#}


{#- A date literal both warehouses accept: cast('2025-01-01' as date). -#}
{% macro date_literal(iso_date) %}
    {{ return("cast('" ~ iso_date ~ "' as date)") }}
{% endmacro %}


{#- A var holding an ISO date, validated (dates in --vars YAML may arrive as date objects).
    Returns a datetime.date, or none when the var is unset or empty. -#}
{% macro date_var(name, default=none) %}
    {%- set value = var(name, default) -%}
    {%- if value is none or (value | string | trim) == '' -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set text = value | string | trim -%}
    {%- if not modules.re.fullmatch('[0-9]{4}-[0-9]{2}-[0-9]{2}', text) -%}
        {{ exceptions.raise_compiler_error("var '" ~ name ~ "' must be an ISO date (YYYY-MM-DD), got '" ~ text ~ "'") }}
    {%- endif -%}
    {{ return(modules.datetime.date.fromisoformat(text)) }}
{% endmacro %}


{#- The window as {'min_date': date, 'max_date': date}, or none when the vars are absent. -#}
{% macro window_bounds() %}
    {%- set min_date = date_var('min_date') -%}
    {%- set max_date = date_var('max_date') -%}
    {%- if min_date is none and max_date is none -%}
        {{ return(none) }}
    {%- elif min_date is none or max_date is none -%}
        {{ exceptions.raise_compiler_error("pass both vars min_date and max_date, or neither") }}
    {%- elif min_date > max_date -%}
        {{ exceptions.raise_compiler_error("min_date (" ~ min_date ~ ") is after max_date (" ~ max_date ~ ")") }}
    {%- endif -%}
    {{ return({'min_date': min_date, 'max_date': max_date}) }}
{% endmacro %}


{#- The predicate selecting the window's rows on `column` (a date); no filter without vars. -#}
{% macro window_filter(column) %}
    {%- set window = window_bounds() -%}
    {%- if window is none -%}
        {{ return('1 = 1') }}
    {%- endif -%}
    {{ return(column ~ ' between ' ~ date_literal(window['min_date']) ~ ' and ' ~ date_literal(window['max_date'])) }}
{% endmacro %}


{#- Every day of the window as ISO strings (empty list without vars). -#}
{% macro window_dates() %}
    {%- set window = window_bounds() -%}
    {%- set days = [] -%}
    {%- if window is not none -%}
        {%- for offset in range((window['max_date'] - window['min_date']).days + 1) -%}
            {%- do days.append((window['min_date'] + modules.datetime.timedelta(days=offset)).isoformat()) -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(days) }}
{% endmacro %}


{#- The day the reporting models are measured against, as an aggregate over `column` (a date
    column of the relation in the FROM clause): the newest day with data, or the window's last
    day when that is later (a day without orders); the history's first day when there is no data.
    Never today's date: the same data gives the same numbers whenever it is built. -#}
{% macro newest_day(column) %}
    {%- set window = window_bounds() -%}
    {%- if window is none -%}
        {{ return('coalesce(max(' ~ column ~ '), ' ~ start_date() ~ ')') }}
    {%- endif -%}
    {%- set last = date_literal(window['max_date']) -%}
    {{ return('greatest(' ~ last ~ ', coalesce(max(' ~ column ~ '), ' ~ last ~ '))') }}
{% endmacro %}


{#- First day of the history (var start_date). -#}
{% macro start_date() %}
    {{ return(date_literal(date_var('start_date', '2025-01-01'))) }}
{% endmacro %}



{#- The days the data tests leave out: the quarantined days (var skip_days, their raw rows kept out
    of the marts on purpose) and the days accepted as they are (var accepted_days, built with the
    rules they break). Each var holds ISO dates separated by commas; Dagster passes them when
    there are any (defs/raw/quarantine.py). A predicate on `column`; '1 = 1' without them. -#}
{% macro without_days(column) %}
    {%- set days = [] -%}
    {%- for name in ['skip_days', 'accepted_days'] -%}
        {%- set value = var(name, '') | string | trim -%}
        {%- for text in (value.split(',') if value else []) -%}
            {%- if not modules.re.fullmatch('[0-9]{4}-[0-9]{2}-[0-9]{2}', text | trim) -%}
                {{ exceptions.raise_compiler_error("var '" ~ name ~ "' holds ISO dates separated by commas, got '" ~ text ~ "'") }}
            {%- endif -%}
            {%- do days.append(date_literal(text | trim)) -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- if not days -%}
        {{ return('1 = 1') }}
    {%- endif -%}
    {{ return(column ~ ' not in (' ~ days | join(', ') ~ ')') }}
{% endmacro %}
