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


{#- Unique (one column or a combination) for the tables too large to check whole on
    every run: only the keys of rows changed since the newest whole build that passed
    finished (`changed`: _staged_at or _built_at), against every row. A duplicate needs a row
    changed since then: older rows were checked together by that build. A build that
    failed leaves its rows to be checked again. -#}
{% test unique_since_tested(model, column_name=none, combination_of_columns=none,
                            changed='_staged_at') %}
    {%- set cols = combination_of_columns or [column_name] %}
    with changed_keys as (
        select distinct {{ cols | join(', ') }}
        from {{ model }}
        where {{ changed }} >= {{ tested_until() }}
    )
    select
        {%- for c in cols %} rows.{{ c }},{% endfor %}
        count(*) as n_rows
    from {{ model }} as rows
    inner join changed_keys
        on {% for c in cols %}rows.{{ c }} = changed_keys.{{ c }}{% if not loop.last %}
        and {% endif %}{% endfor %}
    group by {% for c in cols %}rows.{{ c }}{% if not loop.last %}, {% endif %}{% endfor %}
    having count(*) > 1
{% endtest %}
