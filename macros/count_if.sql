{#- Portable conditional count. -#}
{% macro count_if(condition) -%}
    coalesce(sum(case when {{ condition }} then 1 else 0 end), 0)
{%- endmacro %}
