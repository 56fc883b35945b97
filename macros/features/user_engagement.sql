{#- Email and site engagement as of the end of UTC date `as_of`.
    Grain: one row per customer known by that date.
    Counts over 30/90/365 days are of messages (sends, deliveries, bounces, opened
    and clicked messages) on the day each thing happened. Opens by machines (privacy
    proxies, scanners: seed machine_user_agents) never count as opens.
    Rates are over the messages delivered in the last engagement_rate_window_days:
    opened / delivered, clicked / delivered, clicked / opened, counting an open or click
    only if it happened by the end of as_of. The engagement score sums opens, clicks, visit days and
    orders with weights (var engagement_weights), each halved every
    engagement_half_life_days days. Tier (classic playbook, thresholds as vars):
      highly_engaged      open rate > 80% and click rate > 50% and an order within 90 days
      moderately_engaged  open rate >= 50% or click rate >= 20%
      low_engaged         delivered but below those
      no_data             nothing delivered in the rate window (or no email data at all) -#}
{% macro user_engagement_as_of(as_of, customers=none) -%}
{%- set windows = [30, 90, 365] -%}
{%- set rate_window = var('engagement_rate_window_days') -%}
{%- set w = var('engagement_weights') -%}
with customers as (
    select customer_id from {{ feature_input('int_customers_unified', customers) }}
    where first_seen_date <= {{ as_of }}
),

activity as (
    select * from {{ feature_input('int_customer_activity_daily', customers) }}
    where activity_date <= {{ as_of }}
),

messages as (
    select * from {{ feature_input('int_email_messages', customers) }}
    where delivered_at < {{ as_of_end(as_of) }}
        and delivered_at >= {{ dbt.dateadd(
            'day', -rate_window + 1, 'cast(' ~ as_of ~ ' as timestamp)') }}
),

-- rates over the cohort of messages delivered in the rate window: opened or clicked by
-- the end of the as-of date (a message delivered late in the window has less time)
message_rates as (
    select
        customer_id,
        count(*) as rate_deliveries,
        {{ count_if("first_opened_at < " ~ as_of_end(as_of)) }} as rate_opens,
        {{ count_if("first_clicked_at < " ~ as_of_end(as_of)) }} as rate_clicks,
        {{ count_if("first_machine_opened_at < " ~ as_of_end(as_of)) }}
            as machine_opens_in_rate_window
    from messages
    group by customer_id
),

email_source as (
    select count(*) > 0 as has_email_data from {{ ref('stg_esp__email_events') }}
),

totals as (
    select
        customer_id,
        {%- for d in windows %}
        {%- set in_window = "activity_date > " ~ dbt.dateadd('day', -d, as_of) %}
        sum(case when {{ in_window }} then messages_sent else 0 end) as sends_{{ d }}d,
        sum(case when {{ in_window }} then messages_delivered else 0 end) as deliveries_{{ d }}d,
        sum(case when {{ in_window }} then messages_opened else 0 end) as opens_{{ d }}d,
        sum(case when {{ in_window }} then messages_clicked else 0 end) as clicks_{{ d }}d,
        sum(case when {{ in_window }} then messages_bounced else 0 end) as bounces_{{ d }}d,
        {%- endfor %}
        sum(
            (
                {{ w['open'] }} * messages_opened
                + {{ w['click'] }} * messages_clicked
                + {{ w['visit'] }} * case when sessions > 0 then 1 else 0 end
                + {{ w['order'] }} * orders
            ) * {{ decay_weight(days_between('activity_date', as_of),
                                var('engagement_half_life_days')) }}
        ) as engagement_score,
        max(last_open_at) as last_open_at,
        max(last_click_at) as last_click_at,
        max(last_visit_at) as last_visit_at,
        max(last_order_at) as last_order_at
    from activity
    group by customer_id
),

rated as (
    select
        totals.*,
        message_rates.rate_deliveries,
        message_rates.rate_opens,
        message_rates.rate_clicks,
        message_rates.machine_opens_in_rate_window,
        cast(rate_opens as double) / nullif(rate_deliveries, 0) as open_rate,
        cast(rate_clicks as double) / nullif(rate_deliveries, 0) as click_rate,
        cast(rate_clicks as double) / nullif(rate_opens, 0) as click_to_open_rate,
        {{ days_between('last_open_at', as_of) }} as days_since_last_open,
        {{ days_between('last_click_at', as_of) }} as days_since_last_click,
        {{ days_between('last_visit_at', as_of) }} as days_since_last_visit,
        {{ days_between('last_order_at', as_of) }} as days_since_last_order
    from totals
    left join message_rates on totals.customer_id = message_rates.customer_id
),

final as (
    select
        customers.customer_id,
        case
            when not email_source.has_email_data or coalesce(rated.rate_deliveries, 0) = 0
                then 'no_data'
            when rated.open_rate > {{ var('highly_engaged_min_open_rate') }}
                and rated.click_rate > {{ var('highly_engaged_min_click_rate') }}
                and rated.days_since_last_order <= {{ var('highly_engaged_order_within_days') }}
                then 'highly_engaged'
            when rated.open_rate >= {{ var('moderately_engaged_min_open_rate') }}
                or rated.click_rate >= {{ var('moderately_engaged_min_click_rate') }}
                then 'moderately_engaged'
            else 'low_engaged'
        end as engagement_tier,
        {%- for d in windows %}
        {%- for m in ['sends', 'deliveries', 'opens', 'clicks', 'bounces'] %}
        case when email_source.has_email_data
            then coalesce(rated.{{ m }}_{{ d }}d, 0) end as {{ m }}_{{ d }}d,
        {%- endfor %}
        {%- endfor %}
        case when email_source.has_email_data
            then coalesce(rated.machine_opens_in_rate_window, 0) end
            as machine_opens_in_rate_window,
        rated.open_rate,
        rated.click_rate,
        rated.click_to_open_rate,
        coalesce(rated.engagement_score, 0) as engagement_score,
        rated.days_since_last_open,
        rated.days_since_last_click,
        rated.days_since_last_visit,
        rated.days_since_last_order,
        {#- greatest() skips nulls on DuckDB and Spark -#}
        {{ days_between(
            "greatest(rated.last_open_at, rated.last_click_at, rated.last_visit_at, "
            ~ "rated.last_order_at)", as_of) }} as days_since_last_interaction,
        email_source.has_email_data,
        rated.last_open_at,
        rated.last_click_at,
        rated.last_visit_at,
        {{ as_of }} as as_of_date
    from customers
    cross join email_source
    left join rated on customers.customer_id = rated.customer_id
)

select * from final
{%- endmacro %}
