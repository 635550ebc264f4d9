{#-
    The partition window.

    Dagster passes the window in the environment of dbt's process, as inclusive ISO dates:
    COFFEE_DBT_MIN_DATE and COFFEE_DBT_MAX_DATE (both or neither), and the days the data tests
    leave out, COFFEE_DBT_SKIP_DAYS and COFFEE_DBT_ACCEPTED_DAYS. It is read while the models
    run, never while dbt parses the project: a `--vars` value that changes makes dbt parse the
    whole project again on every run (seconds per run), an environment variable read at run time
    keeps the parsed project valid. The vars of the same names (`--vars '{"min_date": ...}'`,
    for dbt run by hand) take precedence. start_date, the history's first day, is a var: it is
    the same on every run. These macros turn the window into SQL that runs on DuckDB and
    BigQuery alike.
-#}


{#- A date literal both warehouses accept: cast('2025-01-01' as date). -#}
{% macro date_literal(iso_date) %}
    {{ return("cast('" ~ iso_date ~ "' as date)") }}
{% endmacro %}


{#- A value of the window: the var `name` if set, else the environment variable
    COFFEE_DBT_<NAME>, read while the models run; at parse time only when at_parse (a config
    that must hold the window: BigQuery's partitions), which makes dbt parse the files using
    it again when it changes. -#}
{% macro window_value(name, at_parse=false) %}
    {%- set value = var(name, none) -%}
    {%- if (value is none or (value | string | trim) == '') and (execute or at_parse) -%}
        {%- set value = env_var('COFFEE_DBT_' ~ (name | upper), '') -%}
    {%- endif -%}
    {{ return(value) }}
{% endmacro %}


{#- A value that must hold an ISO date, validated and named after its var (dates in --vars
    YAML may arrive as date objects). Returns a datetime.date, or none when it is unset or empty. -#}
{% macro iso_date(name, value) %}
    {%- if value is none or (value | string | trim) == '' -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set text = value | string | trim -%}
    {%- if not modules.re.fullmatch('[0-9]{4}-[0-9]{2}-[0-9]{2}', text) -%}
        {{ exceptions.raise_compiler_error("var '" ~ name ~ "' must be an ISO date (YYYY-MM-DD), got '" ~ text ~ "'") }}
    {%- endif -%}
    {{ return(modules.datetime.date.fromisoformat(text)) }}
{% endmacro %}


{#- The window as {'min_date': date, 'max_date': date}, or none when it is not given (and at
    parse time, unless at_parse). -#}
{% macro window_bounds(at_parse=false) %}
    {%- set min_date = iso_date('min_date', window_value('min_date', at_parse)) -%}
    {%- set max_date = iso_date('max_date', window_value('max_date', at_parse)) -%}
    {%- if min_date is none and max_date is none -%}
        {{ return(none) }}
    {%- elif min_date is none or max_date is none -%}
        {{ exceptions.raise_compiler_error("pass both min_date and max_date (COFFEE_DBT_MIN_DATE and COFFEE_DBT_MAX_DATE), or neither") }}
    {%- elif min_date > max_date -%}
        {{ exceptions.raise_compiler_error("min_date (" ~ min_date ~ ") is after max_date (" ~ max_date ~ ")") }}
    {%- endif -%}
    {{ return({'min_date': min_date, 'max_date': max_date}) }}
{% endmacro %}


{#- The predicate selecting the window's rows on `column` (a date); no filter without a window. -#}
{% macro window_filter(column) %}
    {%- set window = window_bounds() -%}
    {%- if window is none -%}
        {{ return('1 = 1') }}
    {%- endif -%}
    {{ return(column ~ ' between ' ~ date_literal(window['min_date']) ~ ' and ' ~ date_literal(window['max_date'])) }}
{% endmacro %}


{#- Every day of the window as ISO strings (empty list without a window). -#}
{% macro window_dates(at_parse=false) %}
    {%- set window = window_bounds(at_parse) -%}
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
    {{ return(date_literal(iso_date('start_date', var('start_date', '2025-01-01')))) }}
{% endmacro %}



{#- The days the data tests leave out: the quarantined days (var skip_days, their raw rows kept out
    of the marts on purpose) and the days accepted as they are (var accepted_days, built with the
    rules they break). Each holds ISO dates separated by commas; Dagster passes them when there
    are any (defs/raw/quarantine.py), as the window. A predicate on `column`; '1 = 1' without. -#}
{% macro without_days(column) %}
    {%- set days = [] -%}
    {%- for name in ['skip_days', 'accepted_days'] -%}
        {%- set value = (window_value(name) or '') | string | trim -%}
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


{#- dbt's should_full_refresh(), and true for an incremental-by-date model (meta.window_column)
    in a run without a window: such a run rebuilds the model from the whole history. Decided
    here, while the model runs, and not in its config, which dbt fixes when it parses. -#}
{% macro should_full_refresh() %}
    {%- set meta = config.get('meta') or {} -%}
    {%- if config.get('materialized') == 'incremental' and meta.get('window_column') and window_bounds() is none -%}
        {{ return(true) }}
    {%- endif -%}
    {{ return(dbt.should_full_refresh()) }}
{% endmacro %}
