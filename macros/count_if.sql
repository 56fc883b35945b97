{#- Portable conditional count. -#}
{% macro count_if(condition) -%}
    coalesce(sum(case when {{ condition }} then 1 else 0 end), 0)
{%- endmacro %}


{#- Aggregate: `value` from the row with the least (order_by[0], order_by[1], ...), as
    `row_number() over (order by ...) = 1` picks it (the order columns must not be
    null), in one hash aggregation instead of a sort of every row. -#}
{% macro value_at_min(value, order_by) -%}
    {{ return(adapter.dispatch('value_at_min', 'customer_segments')(value, order_by)) }}
{%- endmacro %}

{% macro default__value_at_min(value, order_by) -%}
    arg_min({{ value }}, row({{ order_by | join(', ') }}))
{%- endmacro %}

{% macro spark__value_at_min(value, order_by) -%}
    min_by({{ value }}, struct({{ order_by | join(', ') }}))
{%- endmacro %}
