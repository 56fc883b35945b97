{#- One row per anonymous id seen in identified traffic: the customer it belongs to.
    An anonymous id (device, cookie) belongs to the first customer it was seen with
    (identify, login or any event carrying both ids). A shared device seen with several
    customers keeps the first and is counted in customer_count for review. -#}
with events as (
    select * from {{ ref('stg_web__events') }}
),

identified as (
    select
        anonymous_id,
        customer_id,
        event_at,
        event_id
    from events
    where anonymous_id is not null and customer_id is not null
),

ranked as (
    select
        anonymous_id,
        customer_id,
        event_at,
        row_number() over (partition by anonymous_id order by event_at, event_id) as seen_rank,
        count(distinct customer_id) over (partition by anonymous_id) as customer_count
    from identified
),

final as (
    select
        anonymous_id,
        customer_id,
        customer_count,
        customer_count > 1 as is_shared_device,
        event_at as first_identified_at
    from ranked
    where seen_rank = 1
)

select * from final
