{#- Every known customer, once: the CRM's customers, plus (when no CRM is landed, e.g.
    an orders-only import) every customer id the orders, emails or identified web
    events name. Customers on the GDPR deletion list (seed gdpr_deletions) are left
    out, so they vanish from every mart and export on the next build. No PII here:
    email and name stay in staging until activation. -#}
with crm as (
    select * from {{ ref('stg_crm__customers') }}
),

deletions as (
    select customer_id from {{ ref('gdpr_deletions') }}
),

orders as (
    select customer_id, min(ordered_at) as first_at
    from {{ ref('stg_shop__orders') }}
    group by customer_id
),

emails as (
    select customer_id, min(event_at) as first_at
    from {{ ref('stg_esp__email_events') }}
    group by customer_id
),

-- known_at, not event_at: browsing stitched to a customer by a later identification
-- only counts from that identification (point in time)
web as (
    select customer_id, min(known_at) as first_at
    from {{ ref('int_events_stitched') }}
    where customer_id is not null
    group by customer_id
),

seen as (
    select customer_id, first_at from orders
    union all
    select customer_id, first_at from emails
    union all
    select customer_id, first_at from web
),

first_seen as (
    select customer_id, min(first_at) as first_activity_at
    from seen
    group by customer_id
),

all_ids as (
    select customer_id from crm
    union
    select customer_id from first_seen
),

final as (
    select
        all_ids.customer_id,
        crm.country,
        crm.loyalty_tier,
        crm.customer_id is not null as has_crm_record,
        coalesce(crm.has_email_consent, false) as has_email_consent,
        coalesce(crm.signed_up_at, first_seen.first_activity_at) as signed_up_at,
        first_seen.first_activity_at,
        crm.email_consent_at,
        crm.unsubscribed_at,
        cast(least(
            coalesce(crm.signed_up_at, first_seen.first_activity_at),
            coalesce(first_seen.first_activity_at, crm.signed_up_at)
        ) as date) as first_seen_date
    from all_ids
    left join crm on all_ids.customer_id = crm.customer_id
    left join first_seen on all_ids.customer_id = first_seen.customer_id
    where all_ids.customer_id not in (select d.customer_id from deletions as d)
)

select * from final
