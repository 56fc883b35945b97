{#- Web events with the customer resolved: an identified event keeps its own customer,
    an anonymous one gets the customer its anonymous id was identified as
    (int_anonymous_events_stitched). A view: the identified events (most of them) are
    read from staging as they are, not copied into a second large table. For them
    known_at is event_at and _built_at is when they were staged, so "built since" means
    the same for both parts: changed since a downstream model's own build. -#}
{{ config(materialized='view') }}

select
    event_id,
    customer_id,
    anonymous_id,
    session_id,
    product_id,
    event_type,
    category,
    false as is_stitched,
    event_at,
    event_at as known_at,
    _staged_at as _built_at
from {{ ref('stg_web__events') }}
where customer_id is not null
union all
select
    event_id,
    customer_id,
    anonymous_id,
    session_id,
    product_id,
    event_type,
    category,
    is_stitched,
    event_at,
    known_at,
    _built_at
from {{ ref('int_anonymous_events_stitched') }}
