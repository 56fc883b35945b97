{#- Staged rows per source, type and day of activity: the series the volume checks and a
    volume dashboard read. Types are the event type (events, email events) or the order
    status (orders); `all` is the source's total.
    Incremental (macros/quality_incremental.sql): the days of the base rows staged since
    the last build are counted again. -#}
{{ config(
    materialized=keyed_incremental(),
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{{ delete_recounted_volume_days() }}",
) }}

-- depends_on: {{ ref('base_web__events') }}
-- depends_on: {{ ref('base_shop__orders') }}
-- depends_on: {{ ref('base_esp__email_events') }}

{%- set full_recompute = customers_need_full_recompute() %}

with

recounted as (
    {{ recounted_volume_days(full_recompute) }}
),

web_events as (
    select * from {{ ref('stg_web__events') }}
    where {{ recounted_volume_rows(full_recompute, 'events', 'event_at') }}
),

orders as (
    select * from {{ ref('stg_shop__orders') }}
    where {{ recounted_volume_rows(full_recompute, 'orders', 'ordered_at') }}
),

email_events as (
    select * from {{ ref('stg_esp__email_events') }}
    where {{ recounted_volume_rows(full_recompute, 'email_events', 'event_at') }}
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
    select *, {{ dbt.current_timestamp() }} as _built_at from per_type
    union all
    select *, {{ dbt.current_timestamp() }} as _built_at from per_source
)

select * from final
