{#- Lifecycle stage as of the end of UTC date `as_of`: exactly one per customer, the
    first rule that holds (thresholds are vars):
      1 unsubscribed  unsubscribed or complained (CRM or email events) by then
      2 new           signed up at most lifecycle_new_days (7) days ago
      3 loyal         >= lifecycle_loyal_orders (3) completed orders in the last
                      lifecycle_loyal_window_days (60) days
      4 active        a completed order within lifecycle_active_days (90) days
      5 churned       ordered before, but not for more than lifecycle_churned_days (180)
      6 lapsed        no interaction (open, click, visit, order) for at least
                      lifecycle_lapsed_days (60) days, counting from signup at the latest
      7 at_risk       last order 91-180 days ago, still interacting
      8 active        not bought yet, interacting (or signed up) within 60 days

    Entry date and previous stage are exact, not estimated: a stage can only change on
    a day with activity or on a day a threshold is crossed (an order's day + 60, + 91,
    + 181; the last interaction's day + 60; signup + 8; the unsubscribe day). The rules
    are evaluated on those days up to as_of (lifecycle_changes_as_of below, which
    also leaves out the interaction days that cannot end or begin a lapse); the current
    stage was entered on the last day the stage changed. -#}

{#- The stage rules over a row with signup_date, unsubscribed_date, last_order_date,
    loyal_window_orders and last_interaction_date, evaluated on `point_date`. -#}
{% macro lifecycle_stage(point_date='point_date') -%}
    case
        when unsubscribed_date <= {{ point_date }} then 'unsubscribed'
        when {{ days_between('signup_date', point_date) }} <= {{ var('lifecycle_new_days') }}
            then 'new'
        when loyal_window_orders >= {{ var('lifecycle_loyal_orders') }} then 'loyal'
        when {{ days_between('last_order_date', point_date) }}
            <= {{ var('lifecycle_active_days') }} then 'active'
        when {{ days_between('last_order_date', point_date) }}
            > {{ var('lifecycle_churned_days') }} then 'churned'
        when {{ days_between('greatest(last_interaction_date, signup_date)', point_date) }}
            >= {{ var('lifecycle_lapsed_days') }} then 'lapsed'
        when last_order_date is not null then 'at_risk'
        else 'active'
    end
{%- endmacro %}


{#- Every stage change per customer up to `as_of`: one row per (customer, day the
    stage changed), with the stage before. Used by user_lifecycle_as_of.

    The rules are evaluated on the days a stage can change, not on every day:
    - an order or unsubscribe day, and an order's day + 60 (loyal window), + 91, + 181;
    - signup, signup + 8, signup + 60, the CRM unsubscribe day, and `as_of`;
    - interactions count only for the lapsed rule, so of the interaction days only those
      where a lapse can end or begin: the first interaction after a gap of at least
      lifecycle_lapsed_days (a run start: the day before it, the customer may have been
      lapsed) and the last one before such a gap (a run end; the customer lapses on its
      day + lifecycle_lapsed_days). Between a run's start and end every interaction is
      less than lifecycle_lapsed_days after the one before, so the customer is not
      lapsed there and the stage cannot change on the days left out. At 100M events
      that leaves half of the days (85M -> 43M) to sort and window.
    Inside a run the last interaction day is therefore not known exactly; the point's
    own day stands in for it (it is less than lifecycle_lapsed_days after the real one,
    which is all the lapsed rule asks). After a run's end it is exactly the end.
    Tested against a day-by-day walk of the rules (test_features). -#}
{% macro lifecycle_changes_as_of(as_of, customers=none) -%}
{%- set day_number = "dbt_day_number" -%}
{%- set gap = var('lifecycle_lapsed_days') -%}
with customers as (
    select
        customer_id,
        cast(signed_up_at as date) as signup_date,
        cast(unsubscribed_at as date) as crm_unsubscribed_date,
        first_seen_date
    from {{ feature_input('int_customers_unified', customers) }}
    where first_seen_date <= {{ as_of }}
),

day_events as (
    select
        customer_id,
        activity_date as point_date,
        orders,
        case when messages_opened + messages_clicked + sessions + orders > 0
            then 1 else 0 end as interacted,
        case when unsubscribes + spam_complaints > 0 then 1 else 0 end as unsubscribed
    from {{ feature_input('int_customer_activity_daily', customers) }}
    where activity_date <= {{ as_of }}
        and (orders > 0 or unsubscribes + spam_complaints > 0
             or messages_opened + messages_clicked + sessions > 0)
),

-- where each interaction day sits in its run (see above)
interaction_days as (
    select
        customer_id,
        point_date,
        orders,
        unsubscribed,
        case when {{ days_between('lag(point_date) over (partition by customer_id order by point_date)', 'point_date') }}
            < {{ gap }} then 0 else 1 end as run_start,
        case when {{ days_between('point_date', 'lead(point_date) over (partition by customer_id order by point_date)') }}
            < {{ gap }} then 0 else 1 end as run_end
    from day_events
    where interacted > 0
),

-- every day a stage can change, with what happened on it (zeros on a threshold day)
candidate_days as (
    select customer_id, point_date, orders, 0 as run_start, 0 as run_end, unsubscribed
    from day_events where interacted = 0
    union all
    select customer_id, point_date, orders, run_start, run_end, unsubscribed
    from interaction_days
    where orders > 0 or unsubscribed > 0 or run_start > 0 or run_end > 0
    {%- for days in [var('lifecycle_loyal_window_days'), var('lifecycle_active_days') + 1,
                     var('lifecycle_churned_days') + 1] %}
    union all
    select customer_id, {{ dbt.dateadd('day', days, 'point_date') }}, 0, 0, 0, 0
    from day_events where orders > 0
    {%- endfor %}
    union all
    select customer_id, {{ dbt.dateadd('day', gap, 'point_date') }}, 0, 0, 0, 0
    from interaction_days where run_end > 0
    {%- for day in ['signup_date',
                    dbt.dateadd('day', var('lifecycle_new_days') + 1, 'signup_date'),
                    dbt.dateadd('day', gap, 'signup_date'),
                    'crm_unsubscribed_date', as_of] %}
    union all
    select customer_id, {{ day }}, 0, 0, 0, 0 from customers
    {%- endfor %}
),

-- one row per customer and day: a grouping carries the day's values (no join back)
timeline as (
    select
        candidate_days.customer_id,
        cast(candidate_days.point_date as date) as point_date,
        {{ dbt.datediff("cast('1970-01-01' as date)", 'cast(candidate_days.point_date as date)', 'day') }}
            as {{ day_number }},
        max(customers.signup_date) as signup_date,
        max(customers.crm_unsubscribed_date) as crm_unsubscribed_date,
        max(candidate_days.orders) as orders,
        max(candidate_days.run_start) as run_start,
        max(candidate_days.run_end) as run_end,
        max(candidate_days.unsubscribed) as unsubscribed
    from candidate_days
    inner join customers on candidate_days.customer_id = customers.customer_id
    where candidate_days.point_date <= {{ as_of }}
        and candidate_days.point_date >= customers.first_seen_date
    group by 1, 2, 3
),

states as (
    select
        customer_id,
        point_date,
        signup_date,
        least(crm_unsubscribed_date, min(case when unsubscribed > 0 then point_date end) over (
            partition by customer_id order by {{ day_number }} rows unbounded preceding
        )) as unsubscribed_date,
        max(case when orders > 0 then point_date end) over (
            partition by customer_id order by {{ day_number }} rows unbounded preceding
        ) as last_order_date,
        max(case when run_start > 0 then point_date end) over (
            partition by customer_id order by {{ day_number }} rows unbounded preceding
        ) as last_run_start,
        max(case when run_end > 0 then point_date end) over (
            partition by customer_id order by {{ day_number }} rows unbounded preceding
        ) as last_run_end,
        sum(orders) over (
            partition by customer_id order by {{ day_number }}
            range between {{ var('lifecycle_loyal_window_days') - 1 }} preceding
                and current row
        ) as loyal_window_orders
    from timeline
),

staged as (
    select
        customer_id,
        point_date,
        {{ lifecycle_stage() }} as lifecycle_stage
    from (
        select
            *,
            case
                when last_run_start is null then null
                -- inside a run: less than `gap` days after the last interaction
                when last_run_end is null or last_run_start > last_run_end then point_date
                else last_run_end
            end as last_interaction_date
        from states
    ) as with_interaction
),

with_prior as (
    select
        *,
        lag(lifecycle_stage) over (partition by customer_id order by point_date)
            as previous_stage
    from staged
),

final as (
    select
        customer_id,
        lifecycle_stage,
        previous_stage,
        point_date as stage_entered_date
    from with_prior
    where previous_stage is null or previous_stage != lifecycle_stage
)

select * from final
{%- endmacro %}


{% macro user_lifecycle_as_of(as_of, customers=none) -%}
with changes as (
    {{ lifecycle_changes_as_of(as_of, customers) }}
),

current_stage as (
    {{ lifecycle_current('changes') }}
)

{{ lifecycle_as_of_columns('current_stage', as_of) }}
{%- endmacro %}


{#- The columns of user_lifecycle from rows of current stages (lifecycle_current or
    int_lifecycle_current): the days in the stage count to `as_of`. -#}
{% macro lifecycle_as_of_columns(current_stage, as_of) -%}
select
    customer_id,
    lifecycle_stage,
    previous_stage,
    {{ days_between('stage_entered_date', as_of) }} as days_in_stage,
    stage_entered_date,
    {{ as_of }} as as_of_date
from {{ current_stage }}
{%- endmacro %}


{#- The latest stage change of each customer in `changes` (rows of
    lifecycle_changes_as_of): the current stage, its previous stage and entry day. -#}
{% macro lifecycle_current(changes) -%}
    select customer_id, lifecycle_stage, previous_stage, stage_entered_date
    from (
        select
            *,
            row_number() over (partition by customer_id order by stage_entered_date desc)
                as change_rank
        from {{ changes }}
    ) as ranked
    where change_rank = 1
{%- endmacro %}


{#- The lifecycle vars as one string: int_lifecycle_current recomputes every customer
    when they change. -#}
{% macro lifecycle_settings() -%}
    {{- 'new=' ~ var('lifecycle_new_days') ~ ';loyal=' ~ var('lifecycle_loyal_orders') ~ '/'
        ~ var('lifecycle_loyal_window_days') ~ ';active=' ~ var('lifecycle_active_days')
        ~ ';churned=' ~ var('lifecycle_churned_days') ~ ';lapsed='
        ~ var('lifecycle_lapsed_days') -}}
{%- endmacro %}


{#- Customers whose stage may have changed between the as-of dates `after` (excluded)
    and `upto` without new data: a day in that range that is an activity day or a day a
    threshold is crossed (every interaction's day + 60, more days than
    lifecycle_changes_as_of evaluates), or the day they became known. -#}
{% macro lifecycle_due_customers(after, upto) -%}
    {%- set within = "between " ~ dbt.dateadd('day', 1, after) ~ " and " ~ upto -%}
    select customer_id from {{ ref('int_customer_activity_daily') }}
    where activity_date {{ within }}
        or (orders > 0 and (
            {{ dbt.dateadd('day', var('lifecycle_loyal_window_days'), 'activity_date') }} {{ within }}
            or {{ dbt.dateadd('day', var('lifecycle_active_days') + 1, 'activity_date') }} {{ within }}
            or {{ dbt.dateadd('day', var('lifecycle_churned_days') + 1, 'activity_date') }} {{ within }}))
        or (messages_opened + messages_clicked + sessions + orders > 0
            and {{ dbt.dateadd('day', var('lifecycle_lapsed_days'), 'activity_date') }} {{ within }})
    union
    select customer_id from {{ ref('int_customers_unified') }}
    where first_seen_date {{ within }}
        or cast(signed_up_at as date) {{ within }}
        or {{ dbt.dateadd('day', var('lifecycle_new_days') + 1, 'cast(signed_up_at as date)') }} {{ within }}
        or {{ dbt.dateadd('day', var('lifecycle_lapsed_days'), 'cast(signed_up_at as date)') }} {{ within }}
        or cast(unsubscribed_at as date) {{ within }}
{%- endmacro %}
