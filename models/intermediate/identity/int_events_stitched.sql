{#- Web events with the customer resolved: an anonymous event gets the customer its
    anonymous id was later (or earlier) identified as. known_at is when the business
    could attribute the event to the customer: the event time, or for a stitched event
    the identification time if later. Point-in-time features use known_at. -#}
with events as (
    select * from {{ ref('stg_web__events') }}
),

identities as (
    select * from {{ ref('int_anonymous_ids_stitched') }}
),

final as (
    select
        events.event_id,
        coalesce(events.customer_id, identities.customer_id) as customer_id,
        events.anonymous_id,
        events.session_id,
        events.product_id,
        events.event_type,
        events.category,
        events.customer_id is null and identities.customer_id is not null as is_stitched,
        events.event_at,
        case
            when events.customer_id is null and identities.customer_id is not null
                then greatest(events.event_at, identities.first_identified_at)
            else events.event_at
        end as known_at
    from events
    left join identities
        on events.anonymous_id = identities.anonymous_id
)

select * from final
