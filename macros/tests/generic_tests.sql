{#- Generic tests of our own (no dbt_utils: the package hub is out of reach). -#}

{#- Rows for which the expression is not true. On a column, the expression is
    appended to the column name (`expression: ">= 0"`). -#}
{% test expression_is_true(model, expression, column_name=none) %}
    select *
    from {{ model }}
    where not ({% if column_name %}{{ column_name }} {% endif %}{{ expression }})
{% endtest %}


{% test unique_combination_of_columns(model, combination_of_columns) %}
    select
        {{ combination_of_columns | join(', ') }},
        count(*) as n_rows
    from {{ model }}
    group by {{ combination_of_columns | join(', ') }}
    having count(*) > 1
{% endtest %}
