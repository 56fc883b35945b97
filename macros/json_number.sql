{#- A number from a JSON text column at a path like '$.roc_auc'. -#}
{% macro json_number(column, path) -%}
    {{ return(adapter.dispatch('json_number', 'customer_segments')(column, path)) }}
{%- endmacro %}

{% macro default__json_number(column, path) -%}
    try_cast(json_extract_string({{ column }}, '{{ path }}') as double)
{%- endmacro %}

{% macro spark__json_number(column, path) -%}
    cast(get_json_object({{ column }}, '{{ path }}') as double)
{%- endmacro %}


{% macro json_text(column, path) -%}
    {{ return(adapter.dispatch('json_text', 'customer_segments')(column, path)) }}
{%- endmacro %}

{% macro default__json_text(column, path) -%}
    cast(json_extract({{ column }}, '{{ path }}') as string)
{%- endmacro %}

{% macro spark__json_text(column, path) -%}
    get_json_object({{ column }}, '{{ path }}')
{%- endmacro %}


{% macro json_string(column, path) -%}
    {{ return(adapter.dispatch('json_string', 'customer_segments')(column, path)) }}
{%- endmacro %}

{% macro default__json_string(column, path) -%}
    json_extract_string({{ column }}, '{{ path }}')
{%- endmacro %}

{% macro spark__json_string(column, path) -%}
    get_json_object({{ column }}, '{{ path }}')
{%- endmacro %}
