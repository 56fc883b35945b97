{#- Behaviour flags as of the end of UTC date `as_of` (thresholds are vars):
      is_cart_abandoner   add_to_cart within cart_abandon_hours (48) before the end of
                          as_of, and no completed order at or after it
      is_recent_browser   a site visit within recent_browser_days (7)
      is_window_shopper   visits on >= window_shopper_min_visit_days (5) days in the last
                          window_shopper_window_days (90), and no completed order ever
      is_high_value       monetary in the top high_value_top_share (10%) of buyers
      is_bargain_hunter   >= bargain_min_orders (2) orders in the RFM window with a coupon
                          on >= bargain_min_coupon_share (50%) of them
      is_seasonal_buyer   >= seasonal_min_orders (3) orders in 730 days spanning at least
                          a year, >= seasonal_min_quarter_share (75%) in one calendar quarter
      is_new_subscriber   email consent given within new_subscriber_days (30) -#}
{% macro user_behaviour_as_of(as_of, customers=none) -%}
with customers as (
    select * from {{ feature_input('int_customers_unified', customers) }}
    where first_seen_date <= {{ as_of }}
),

-- read twice (totals, seasonal orders): inlined, not buffered (81M rows at 100M events)
activity as {{ inline_cte() }} (
    select * from {{ feature_input('int_customer_activity_daily', customers) }}
    where activity_date <= {{ as_of }}
),

totals as (
    select
        customer_id,
        max(last_add_to_cart_at) as last_add_to_cart_at,
        max(last_order_at) as last_order_at,
        max(last_visit_at) as last_visit_at,
        {{ count_if("sessions > 0 and activity_date > "
                    ~ dbt.dateadd('day', -var('window_shopper_window_days'), as_of)) }}
            as visit_days_in_window,
        {{ count_if("sessions > 0 and activity_date > " ~ dbt.dateadd('day', -365, as_of)) }}
            as visit_days_365d,
        sum(orders) as lifetime_orders,
        sum(case when activity_date > {{ dbt.dateadd('day', -var('rfm_window_days'), as_of) }}
            then orders else 0 end) as window_orders,
        sum(case when activity_date > {{ dbt.dateadd('day', -var('rfm_window_days'), as_of) }}
            then coupon_orders else 0 end) as window_coupon_orders,
        sum(case when activity_date > {{ dbt.dateadd('day', -var('rfm_window_days'), as_of) }}
            then order_revenue - refund_revenue else 0 end) as window_revenue
    from activity
    group by customer_id
),

value_rank as (
    select
        customer_id,
        percent_rank() over (order by window_revenue) as revenue_percent_rank
    from totals
    where lifetime_orders > 0
),

seasonal_orders as (
    select
        customer_id,
        {{ dbt.date_trunc('quarter', 'activity_date') }} as quarter_start,
        extract(quarter from activity_date) as calendar_quarter,
        activity_date,
        orders
    from activity
    where orders > 0
        and activity_date > {{ dbt.dateadd('day', -730, as_of) }}
),

seasonality as (
    select
        customer_id,
        sum(orders) as orders_730d,
        {{ days_between('min(activity_date)', 'max(activity_date)') }} as span_days,
        max(quarter_orders) as top_quarter_orders
    from (
        select
            customer_id,
            activity_date,
            orders,
            sum(orders) over (partition by customer_id, calendar_quarter)
                as quarter_orders
        from seasonal_orders
    ) as by_quarter
    group by customer_id
),

final as (
    select
        customers.customer_id,
        coalesce(
            totals.last_add_to_cart_at >= {{ dbt.dateadd(
                'hour', -var('cart_abandon_hours'), as_of_end(as_of)) }}
            and (totals.last_order_at is null
                 or totals.last_order_at < totals.last_add_to_cart_at),
            false
        ) as is_cart_abandoner,
        coalesce({{ days_between('totals.last_visit_at', as_of) }}
            < {{ var('recent_browser_days') }}, false) as is_recent_browser,
        coalesce(totals.visit_days_in_window >= {{ var('window_shopper_min_visit_days') }}
            and totals.lifetime_orders = 0, false) as is_window_shopper,
        coalesce(value_rank.revenue_percent_rank
            >= 1 - {{ var('high_value_top_share') }}
            and totals.window_revenue > 0, false) as is_high_value,
        coalesce(totals.window_orders >= {{ var('bargain_min_orders') }}
            and cast(totals.window_coupon_orders as double) / totals.window_orders
                >= {{ var('bargain_min_coupon_share') }}, false) as is_bargain_hunter,
        coalesce(seasonality.orders_730d >= {{ var('seasonal_min_orders') }}
            and seasonality.span_days >= 365
            and cast(seasonality.top_quarter_orders as double) / seasonality.orders_730d
                >= {{ var('seasonal_min_quarter_share') }}, false) as is_seasonal_buyer,
        coalesce({{ days_between('customers.email_consent_at', as_of) }}
            between 0 and {{ var('new_subscriber_days') }}
            and customers.has_email_consent, false) as is_new_subscriber,
        coalesce(totals.visit_days_in_window, 0) as visit_days_in_window,
        coalesce(totals.visit_days_365d, 0) as visit_days_365d,
        cast(totals.window_coupon_orders as double) / nullif(totals.window_orders, 0)
            as coupon_order_share,
        totals.last_add_to_cart_at,
        {{ as_of }} as as_of_date
    from customers
    left join totals on customers.customer_id = totals.customer_id
    left join value_rank on customers.customer_id = value_rank.customer_id
    left join seasonality on customers.customer_id = seasonality.customer_id
)

select * from final
{%- endmacro %}
