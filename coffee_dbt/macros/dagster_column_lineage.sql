{#-
    Column-level lineage for Dagster, without loading dbt into the run's process.

    A post-hook of every model (dbt_project.yml): when Dagster runs dbt (dagster-dbt sets
    DAGSTER_DBT_CLI), it logs the model's columns and its parents' as one JSON line, which
    dagster-dbt turns into the `dagster/column_schema` and `dagster/column_lineage` metadata of
    the model's materialization (parsing the compiled SQL with sqlglot). Run by hand, it does
    nothing. It reads column lists from the warehouse's catalog: no query of the data.
-#}
{% macro log_columns_for_dagster() %}
    {%- if execute and env_var('DAGSTER_DBT_CLI', '') == 'true' -%}
        {%- set parents = {} -%}
        {%- for name in model.refs -%}
            {%- set relation = ref(name['name'], package=name.get('package'), version=name.get('version')) -%}
            {%- do parents.update({relation.render(): {'columns': _columns_of(relation)}}) -%}
        {%- endfor -%}
        {%- for source_name, table_name in model.sources -%}
            {%- set relation = source(source_name, table_name) -%}
            {%- do parents.update({relation.render(): {'columns': _columns_of(relation)}}) -%}
        {%- endfor -%}
        {%- do log(tojson({
            'relation_name': this.render(),
            'columns': _columns_of(this),
            'parents': parents,
        }), info=true) -%}
    {%- endif -%}
{% endmacro %}


{% macro _columns_of(relation) %}
    {%- set columns = {} -%}
    {%- for column in adapter.get_columns_in_relation(relation) -%}
        {%- do columns.update({column.name: {'data_type': column.data_type}}) -%}
    {%- endfor -%}
    {{- return(columns) -}}
{% endmacro %}
