{#- The model-ready row per customer: every feature of the five per-user marts. One
    join, used two ways so both give the same columns from the same code:
      user_features           joins the built marts (as of var as_of)
      user_features_as_of(d)  computes all five as of date d first (point in time, for
                              training the churn model on a past cutoff); given a
                              relation of customer ids, for those customers only -#}
{% macro join_user_features(rfm, engagement, lifecycle, behaviour, preferences, as_of) -%}
with rfm as (
    select * from {{ rfm }}
),

engagement as (
    select * from {{ engagement }}
),

lifecycle as (
    select * from {{ lifecycle }}
),

behaviour as (
    select * from {{ behaviour }}
),

preferences as (
    select * from {{ preferences }}
),

final as (
    select
        rfm.customer_id,
        rfm.rfm_segment,
        engagement.engagement_tier,
        lifecycle.lifecycle_stage,
        lifecycle.previous_stage,
        preferences.favourite_category,
        preferences.send_time_source,
        rfm.recency_days,
        rfm.frequency,
        rfm.monetary,
        rfm.gross_revenue,
        rfm.refunded_revenue,
        rfm.orders_30d,
        rfm.orders_90d,
        rfm.lifetime_orders,
        rfm.lifetime_revenue,
        rfm.observed_days,
        rfm.r_score,
        rfm.f_score,
        rfm.m_score,
        engagement.sends_30d,
        engagement.sends_90d,
        engagement.sends_365d,
        engagement.deliveries_90d,
        engagement.deliveries_365d,
        engagement.opens_30d,
        engagement.opens_90d,
        engagement.opens_365d,
        engagement.clicks_30d,
        engagement.clicks_90d,
        engagement.clicks_365d,
        engagement.bounces_90d,
        engagement.open_rate,
        engagement.click_rate,
        engagement.click_to_open_rate,
        engagement.engagement_score,
        engagement.days_since_last_open,
        engagement.days_since_last_click,
        engagement.days_since_last_visit,
        engagement.days_since_last_interaction,
        lifecycle.days_in_stage,
        behaviour.visit_days_in_window,
        behaviour.visit_days_365d,
        behaviour.coupon_order_share,
        preferences.best_send_hour,
        preferences.best_send_weekday,
        preferences.email_interactions,
        rfm.has_orders,
        engagement.has_email_data,
        behaviour.is_cart_abandoner,
        behaviour.is_recent_browser,
        behaviour.is_window_shopper,
        behaviour.is_high_value,
        behaviour.is_bargain_hunter,
        behaviour.is_seasonal_buyer,
        behaviour.is_new_subscriber,
        rfm.first_order_date,
        rfm.last_order_date,
        lifecycle.stage_entered_date,
        rfm.as_of_date
    from rfm
    inner join engagement on rfm.customer_id = engagement.customer_id
    inner join lifecycle on rfm.customer_id = lifecycle.customer_id
    inner join behaviour on rfm.customer_id = behaviour.customer_id
    inner join preferences on rfm.customer_id = preferences.customer_id
)

select * from final
{%- endmacro %}


{% macro user_features_as_of(as_of, customers=none) -%}
    {{ join_user_features(
        '(' ~ user_rfm_as_of(as_of, customers) ~ ')',
        '(' ~ user_engagement_as_of(as_of, customers) ~ ')',
        '(' ~ user_lifecycle_as_of(as_of, customers) ~ ')',
        '(' ~ user_behaviour_as_of(as_of, customers) ~ ')',
        '(' ~ user_preferences_as_of(as_of, customers) ~ ')',
        as_of
    ) }}
{%- endmacro %}
