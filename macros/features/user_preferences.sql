{#- Preferences as of the end of UTC date `as_of`.
    favourite_category  the category with the highest time-decayed interest: views,
                        add-to-carts and completed orders weighted by category_weights,
                        halving every category_half_life_days; ties by name
    best_send_hour/_weekday  the UTC hour and weekday (0 = Sunday) of the customer's own
                        first opens and clicks (a click counts twice), when they have at
                        least preference_min_interactions; else the whole base's
                        (send_time_source says which)
    built=true (user_preferences at the latest day, the default): the favourite and the
    send slots come from int_customer_favourite_category and int_customer_send_slots,
    kept up to date by customer, instead of from every daily category row and every
    message (the same numbers for an as-of date on or after all activity; the
    favourite's score is scaled from its own date to the as-of date). -#}
{% macro user_preferences_as_of(as_of, customers=none, built=false) -%}
with customers as (
    select customer_id from {{ feature_input('int_customers_unified', customers) }}
    where first_seen_date <= {{ as_of }}
),
{%- if built %}

favourite as (
    select
        customer_id,
        favourite_category,
        category_score * {{ decay_weight(days_between('score_date', as_of),
                                         var('category_half_life_days')) }}
            as category_score
    from {{ feature_input('int_customer_favourite_category', customers) }}
),

by_slot as (
    select customer_id, send_hour, send_weekday, score, interactions
    from {{ feature_input('int_customer_send_slots', customers) }}
),
{%- else %}

categories as (
    select * from {{ feature_input('int_customer_category_daily', customers) }}
    where activity_date <= {{ as_of }}
),

messages as {{ inline_cte() }} (
    select * from {{ feature_input('int_email_messages', customers) }}
),

{{ favourite_category_ctes('categories', as_of) }},

{{ send_slot_ctes('messages', as_of_end(as_of)) }},
{%- endif %}

by_hour as (
    select customer_id, send_hour, sum(score) as score
    from by_slot
    group by 1, 2
),

by_weekday as (
    select customer_id, send_weekday, sum(score) as score
    from by_slot
    group by 1, 2
),

own_counts as (
    select customer_id, sum(interactions) as interaction_count
    from by_slot
    group by customer_id
),

own_hour as (
    select customer_id, send_hour
    from (
        select *, row_number() over (
            partition by customer_id order by score desc, send_hour) as r
        from by_hour
    ) as ranked
    where r = 1
),

own_weekday as (
    select customer_id, send_weekday
    from (
        select *, row_number() over (
            partition by customer_id order by score desc, send_weekday) as r
        from by_weekday
    ) as ranked
    where r = 1
),

-- the whole base's best hour and weekday (null without any interaction): one row,
-- joined to every customer, not a scalar subquery in each row's CASE
base_hour as (
    select send_hour from (
        select send_hour, sum(score) as score from by_hour group by 1
    ) as h
    order by score desc, send_hour
    limit 1
),

base_weekday as (
    select send_weekday from (
        select send_weekday, sum(score) as score from by_weekday group by 1
    ) as d
    order by score desc, send_weekday
    limit 1
),

base_time as (
    select
        (select send_hour from base_hour) as base_send_hour,
        (select send_weekday from base_weekday) as base_send_weekday
),

final as (
    select
        customers.customer_id,
        favourite.favourite_category,
        case
            when coalesce(own_counts.interaction_count, 0)
                >= {{ var('preference_min_interactions') }} then 'own'
            when base_time.base_send_hour is not null then 'base'
            else 'none'
        end as send_time_source,
        cast(case
            when coalesce(own_counts.interaction_count, 0)
                >= {{ var('preference_min_interactions') }} then own_hour.send_hour
            else base_time.base_send_hour
        end as integer) as best_send_hour,
        cast(case
            when coalesce(own_counts.interaction_count, 0)
                >= {{ var('preference_min_interactions') }} then own_weekday.send_weekday
            else base_time.base_send_weekday
        end as integer) as best_send_weekday,
        coalesce(own_counts.interaction_count, 0) as email_interactions,
        favourite.category_score as favourite_category_score,
        {{ as_of }} as as_of_date
    from customers
    cross join base_time
    left join favourite on customers.customer_id = favourite.customer_id
    left join own_counts on customers.customer_id = own_counts.customer_id
    left join own_hour on customers.customer_id = own_hour.customer_id
    left join own_weekday on customers.customer_id = own_weekday.customer_id
)

select * from final
{%- endmacro %}


{#- Day of week 0 (Sunday) .. 6 (Saturday). -#}
{% macro day_of_week(ts) -%}
    {{ return(adapter.dispatch('day_of_week', 'customer_segments')(ts)) }}
{%- endmacro %}

{% macro default__day_of_week(ts) -%}
    dayofweek({{ ts }})
{%- endmacro %}

{% macro spark__day_of_week(ts) -%}
    (dayofweek({{ ts }}) - 1)
{%- endmacro %}


{#- CTEs `interactions` and `by_slot`: the first opens (weight 1) and first clicks
    (weight 2) of the messages in CTE `messages`, before `before` (a timestamp; none:
    all), and per customer, UTC hour and weekday their score and count. Used by
    user_preferences_as_of and int_customer_send_slots. -#}
{% macro send_slot_ctes(messages, before=none) -%}
{%- set bound = ('< ' ~ before) if before is not none else 'is not null' -%}
interactions as (
    select customer_id, first_opened_at as interacted_at, 1 as weight
    from {{ messages }}
    where first_opened_at {{ bound }}
    union all
    select customer_id, first_clicked_at as interacted_at, 2 as weight
    from {{ messages }}
    where first_clicked_at {{ bound }}
),

-- one pass over the interactions: per customer, UTC hour and weekday; the best hour,
-- weekday and count read this small table instead of the interactions three times
by_slot as (
    select
        customer_id,
        cast(extract(hour from interacted_at) as integer) as send_hour,
        cast({{ day_of_week('interacted_at') }} as integer) as send_weekday,
        sum(weight) as score,
        count(*) as interactions
    from interactions
    group by 1, 2, 3
)
{%- endmacro %}


{#- CTEs `category_scores` and `favourite`: per customer and category of the daily rows
    in CTE `categories`, views, add-to-carts and orders weighted by category_weights and
    halved every category_half_life_days before `score_on` (an as-of date, or a column
    of `categories`, grouped by with `keep`); the highest score per customer, ties by
    name. Used by user_preferences_as_of and int_customer_favourite_category. -#}
{% macro favourite_category_ctes(categories, score_on, keep=[]) -%}
{%- set cw = var('category_weights') -%}
category_scores as (
    select
        customer_id,
        category,
        {%- for c in keep %}
        {{ c }},
        {%- endfor %}
        sum(
            ({{ cw['view'] }} * product_views + {{ cw['cart'] }} * add_to_carts
             + {{ cw['order'] }} * orders)
            * {{ decay_weight(days_between('activity_date', score_on),
                              var('category_half_life_days')) }}
        ) as category_score
    from {{ categories }}
    group by customer_id, category{% for c in keep %}, {{ c }}{% endfor %}
),

favourite as (
    select
        customer_id,
        category as favourite_category,
        {%- for c in keep %}
        {{ c }},
        {%- endfor %}
        category_score
    from (
        select
            *,
            row_number() over (
                partition by customer_id order by category_score desc, category
            ) as category_rank
        from category_scores
    ) as ranked
    where category_rank = 1
)
{%- endmacro %}
