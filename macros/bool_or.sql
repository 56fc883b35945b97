{#- Portable "any row true" aggregate. -#}
{% macro bool_or(condition) -%}
    (max(case when {{ condition }} then 1 else 0 end) = 1)
{%- endmacro %}
