{#- "Now" for features: the end of a UTC date, from var('as_of') or else the latest day
    with activity in the data. Never the wall clock, so builds are reproducible.
    The latest day is looked up when the model runs and written into its SQL as a
    literal (query_literal: a scalar subquery in every window filter made user_engagement
    at 100M events take 45 s instead of 23). -#}
{% macro as_of_date() -%}
    {%- if var('as_of', none) -%}
        cast('{{ var("as_of") }}' as date)
    {%- else -%}
        {%- set daily = ref('int_customer_activity_daily') -%}
        {{ query_literal('select max(activity_date) from ' ~ daily, daily) }}
    {%- endif -%}
{%- endmacro %}


{#- The first instant after an as-of date: events before it are visible. -#}
{% macro as_of_end(as_of) -%}
    cast({{ dbt.dateadd('day', 1, as_of) }} as timestamp)
{%- endmacro %}


{#- Whole days between two dates (or the dates of two timestamps): calendar days in UTC.
    One meaning everywhere: 2024-01-01 23:59 to 2024-01-02 00:01 is 1 day. -#}
{% macro days_between(start, end) -%}
    {{ dbt.datediff('cast(' ~ start ~ ' as date)', 'cast(' ~ end ~ ' as date)', 'day') }}
{%- endmacro %}


{#- Time-decay weight of something `days_ago` days old, halving every `half_life` days. -#}
{% macro decay_weight(days_ago, half_life) -%}
    power(0.5, cast({{ days_ago }} as double) / {{ half_life }})
{%- endmacro %}


{#- Score 1..buckets from a percent rank; ties share the lowest score of their group,
    the same on every engine (percent_rank is standard SQL). -#}
{% macro quantile_score(order_by) -%}
    least(
        {{ var('rfm_score_buckets') }},
        1 + cast(floor({{ var('rfm_score_buckets') }} * percent_rank() over (
            order by {{ order_by }}
        )) as integer)
    )
{%- endmacro %}
