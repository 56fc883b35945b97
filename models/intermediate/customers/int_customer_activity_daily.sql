{#- Everything a customer did, one row per customer and UTC day. Every count sits on
    the day its event happened (an open on the day of the open, not of the send; a
    refund on the day of the refund; stitched anonymous browsing on the day the customer
    was identified), so a feature computed as of a date from the rows up to that date
    cannot see the future.
    Built from the large event tables; every as-of feature reads this instead.
    Incremental by customer: a run recomputes the customers touched since the last one
    (see the macro incremental_customers). -#}
{{ config(
    materialized='incremental',
    unique_key='customer_id',
    incremental_strategy='delete+insert',
    on_schema_change='fail',
    post_hook="{{ delete_tombstones() }}",
) }}

-- depends_on: {{ ref('base_web__events') }}
-- depends_on: {{ ref('base_esp__email_events') }}
-- depends_on: {{ ref('base_shop__orders') }}

{%- set full_recompute = customers_need_full_recompute() %}

with {{ touched_customers_cte(full_recompute) }},

orders as (
    select * from {{ ref('stg_shop__orders') }}
    where {{ only_touched(full_recompute) }}
),

messages as (
    select * from {{ ref('int_email_messages') }}
    where {{ only_touched(full_recompute) }}
),

email_events as (
    select * from {{ ref('stg_esp__email_events') }}
    where {{ only_touched(full_recompute) }}
),

web_events as (
    select * from {{ ref('int_events_stitched') }}
    where customer_id is not null and {{ only_touched(full_recompute) }}
),

-- a purchase counts on its order day; a refund is its own event on the day it was
-- refunded (updated_at of the refunded version), so as of any date the net is right
purchase_days as (
    select
        customer_id,
        cast(ordered_at as date) as activity_date,
        count(*) as orders,
        sum(revenue) as order_revenue,
        0 as refunds,
        0 as refund_revenue,
        {{ count_if("has_coupon") }} as coupon_orders,
        0 as cancelled_orders,
        max(ordered_at) as last_order_at
    from orders
    where order_status in ('completed', 'refunded')
    group by 1, 2
),

refund_days as (
    select
        customer_id,
        cast(coalesce(updated_at, ordered_at) as date) as activity_date,
        0 as orders,
        0 as order_revenue,
        count(*) as refunds,
        sum(revenue) as refund_revenue,
        0 as coupon_orders,
        0 as cancelled_orders,
        cast(null as timestamp) as last_order_at
    from orders
    where order_status = 'refunded'
    group by 1, 2
),

cancel_days as (
    select
        customer_id,
        cast(ordered_at as date) as activity_date,
        0 as orders,
        0 as order_revenue,
        0 as refunds,
        0 as refund_revenue,
        0 as coupon_orders,
        count(*) as cancelled_orders,
        cast(null as timestamp) as last_order_at
    from orders
    where order_status = 'cancelled'
    group by 1, 2
),

order_days as (
    select
        customer_id,
        activity_date,
        sum(orders) as orders,
        sum(order_revenue) as order_revenue,
        sum(refunds) as refunds,
        sum(refund_revenue) as refund_revenue,
        sum(coupon_orders) as coupon_orders,
        sum(cancelled_orders) as cancelled_orders,
        max(last_order_at) as last_order_at
    from (
        select * from purchase_days
        union all
        select * from refund_days
        union all
        select * from cancel_days
    ) as order_events
    group by 1, 2
),

{%- set message_counts = [
    ('sent_at', 'messages_sent'),
    ('delivered_at', 'messages_delivered'),
    ('bounced_at', 'messages_bounced'),
    ('first_opened_at', 'messages_opened'),
    ('first_machine_opened_at', 'messages_machine_opened'),
    ('first_clicked_at', 'messages_clicked'),
] %}

message_days as (
    {% for column, name in message_counts %}
    select
        customer_id,
        cast({{ column }} as date) as activity_date,
        '{{ name }}' as measure,
        count(*) as n,
        max({{ column }}) as last_at
    from messages
    where {{ column }} is not null
    group by 1, 2
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

message_days_wide as (
    select
        customer_id,
        activity_date,
        {% for column, name in message_counts %}
        sum(case when measure = '{{ name }}' then n else 0 end) as {{ name }},
        {% endfor %}
        max(case when measure = 'messages_opened' then last_at end) as last_open_at,
        max(case when measure = 'messages_clicked' then last_at end) as last_click_at
    from message_days
    group by 1, 2
),

unsubscribe_days as (
    select
        customer_id,
        cast(event_at as date) as activity_date,
        {{ count_if("email_event_type = 'unsubscribe'") }} as unsubscribes,
        {{ count_if("email_event_type = 'spam_complaint'") }} as spam_complaints,
        {{ count_if("email_event_type = 'bounce' and bounce_type = 'hard'") }} as hard_bounces
    from email_events
    where email_event_type in ('unsubscribe', 'spam_complaint', 'bounce')
    group by 1, 2
),

web_days as (
    select
        customer_id,
        cast(known_at as date) as activity_date,
        count(distinct session_id) as sessions,
        {{ count_if("event_type = 'page_view'") }} as page_views,
        {{ count_if("event_type = 'product_view'") }} as product_views,
        {{ count_if("event_type = 'add_to_cart'") }} as add_to_carts,
        {{ count_if("event_type = 'checkout_started'") }} as checkouts_started,
        max(event_at) as last_visit_at,
        max(case when event_type = 'add_to_cart' then event_at end) as last_add_to_cart_at
    from web_events
    group by 1, 2
),

keys as (
    select customer_id, activity_date from order_days
    union
    select customer_id, activity_date from message_days_wide
    union
    select customer_id, activity_date from unsubscribe_days
    union
    select customer_id, activity_date from web_days
    {{- touched_tombstones([('activity_date', 'date')]) }}
),

final as (
    select
        keys.customer_id,
        coalesce(o.orders, 0) as orders,
        coalesce(o.order_revenue, 0) as order_revenue,
        coalesce(o.refunds, 0) as refunds,
        coalesce(o.refund_revenue, 0) as refund_revenue,
        coalesce(o.cancelled_orders, 0) as cancelled_orders,
        coalesce(o.coupon_orders, 0) as coupon_orders,
        {% for column, name in message_counts %}
        coalesce(m.{{ name }}, 0) as {{ name }},
        {% endfor %}
        coalesce(u.unsubscribes, 0) as unsubscribes,
        coalesce(u.spam_complaints, 0) as spam_complaints,
        coalesce(u.hard_bounces, 0) as hard_bounces,
        coalesce(w.sessions, 0) as sessions,
        coalesce(w.page_views, 0) as page_views,
        coalesce(w.product_views, 0) as product_views,
        coalesce(w.add_to_carts, 0) as add_to_carts,
        coalesce(w.checkouts_started, 0) as checkouts_started,
        keys.activity_date,
        o.last_order_at,
        m.last_open_at,
        m.last_click_at,
        w.last_visit_at,
        w.last_add_to_cart_at,
        {{ dbt.current_timestamp() }} as _built_at
    from keys
    left join order_days as o
        on keys.customer_id = o.customer_id and keys.activity_date = o.activity_date
    left join message_days_wide as m
        on keys.customer_id = m.customer_id and keys.activity_date = m.activity_date
    left join unsubscribe_days as u
        on keys.customer_id = u.customer_id and keys.activity_date = u.activity_date
    left join web_days as w
        on keys.customer_id = w.customer_id and keys.activity_date = w.activity_date
)

select * from final
