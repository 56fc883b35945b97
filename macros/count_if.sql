{#- Portable conditional count. -#}
{% macro count_if(condition) -%}
    coalesce(sum(case when {{ condition }} then 1 else 0 end), 0)
{%- endmacro %}


{#- count(distinct x) over (partition by ...): Spark has no distinct window aggregates;
    the size of the set of values is the same number. -#}
{% macro count_distinct_over(column, partition_by) -%}
    {{ return(adapter.dispatch('count_distinct_over', 'customer_segments')(column, partition_by)) }}
{%- endmacro %}

{% macro default__count_distinct_over(column, partition_by) -%}
    count(distinct {{ column }}) over (partition by {{ partition_by }})
{%- endmacro %}

{% macro spark__count_distinct_over(column, partition_by) -%}
    size(collect_set({{ column }}) over (partition by {{ partition_by }}))
{%- endmacro %}
