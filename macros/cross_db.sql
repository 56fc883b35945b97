{#- Overrides of dbt's cross-database macros for one engine (dispatch search order in
    dbt_project.yml puts this project first). -#}

{#- Spark: dbt-spark's own dateadd checks its argument is not null by repeating it
    (nine copies per call); our as-of dates are subqueries and nest dateadd in dateadd,
    so a model grew to 1 MB of SQL and the planner ran out of heap. timestampadd gives
    the same result (a timestamp) with the argument once. -#}
{% macro spark__dateadd(datepart, interval, from_date_or_timestamp) -%}
    timestampadd({{ datepart }}, {{ interval }}, {{ from_date_or_timestamp }})
{%- endmacro %}
