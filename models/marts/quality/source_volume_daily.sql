{#- Staged rows per source, type and day of activity: the series the volume checks and a
    volume dashboard read. Types are the event type (events, email events) or the order
    status (orders); `all` is the source's total. -#}
with

web_events as (
    select * from {{ ref('stg_web__events') }}
),

orders as (
    select * from {{ ref('stg_shop__orders') }}
),

email_events as (
    select * from {{ ref('stg_esp__email_events') }}
),

typed as (
    select 'events' as source_name, event_type, cast(event_at as date) as activity_date
    from web_events
    union all
    select 'orders', order_status, cast(ordered_at as date)
    from orders
    union all
    select 'email_events', email_event_type, cast(event_at as date)
    from email_events
),

per_type as (
    select
        source_name,
        event_type,
        activity_date,
        count(*) as row_count
    from typed
    group by source_name, event_type, activity_date
),

per_source as (
    select
        source_name,
        'all' as event_type,
        activity_date,
        sum(row_count) as row_count
    from per_type
    group by source_name, activity_date
),

final as (
    select * from per_type
    union all
    select * from per_source
)

select * from final
