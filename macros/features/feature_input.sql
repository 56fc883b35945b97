{#- A per-customer input of the *_as_of feature macros: the model itself, or, given a
    relation of customer ids, only those customers' rows (the ML training examples are
    computed for the fit sample only, so their cost does not grow with the customer
    base). Filtering every input, not just the customer list, keeps the aggregations
    small: engines do not push a semi-join through a GROUP BY. -#}
{% macro feature_input(name, customers=none) -%}
    {%- if customers is none -%}
        {{ ref(name) }}
    {%- else -%}
        (select * from {{ ref(name) }}
         where customer_id in (select customer_id from {{ customers }}))
    {%- endif -%}
{%- endmacro %}
