{#- Layers get plain schema names (staging, intermediate, marts, ...), not
    <target_schema>_<name>: the embedded warehouse is one project's, and BI and
    reverse-ETL read stable names. Set CS_SCHEMA_PREFIX to keep per-developer schemas
    apart on a shared warehouse. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- set prefix = env_var('CS_SCHEMA_PREFIX', '') -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ prefix }}{{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
