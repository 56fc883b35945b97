{#- Every known customer, once: the CRM's customers, plus (when no CRM is landed, e.g.
    an orders-only import) every customer id the orders, emails or identified web
    events name. Customers on the GDPR deletion list (seed gdpr_deletions) are left
    out, so they vanish from every mart and export on the next build. No PII here:
    email and name stay in staging until activation.
    Incremental: when all that is new since the last build is web events (see
    only_new_web_events), the CRM landed nothing and the deletion list is the one the
    table was built with, only the customers of the new events are redone: their first
    activity is the earlier of the one built and their new events' (new events can only
    move it earlier). Otherwise every customer is recomputed and one no longer known
    leaves (a tombstone, has_crm_record null, deleted by the post-hook). -#}
{{ config(
    materialized=keyed_incremental(),
    unique_key='customer_id',
    incremental_strategy='delete+insert',
    on_schema_change='fail',
    post_hook="{{ delete_tombstones('has_crm_record') }}",
) }}

-- depends_on: {{ ref('base_web__events') }}
-- depends_on: {{ ref('base_esp__email_events') }}
-- depends_on: {{ ref('base_shop__orders') }}
-- depends_on: {{ source('crm', 'customers') }}
-- depends_on: {{ ref('int_anonymous_events_stitched') }}  -- only_new_web_events

{%- set full_recompute = customers_need_full_recompute() %}
{%- set new_web_only = customers_unchanged_but_new_web_events()
                       and only_new_web_events(full_recompute) %}

with crm as (
    select * from {{ ref('stg_crm__customers') }}
),

deletions as (
    select customer_id from {{ ref('gdpr_deletions') }}
),

-- the list the table was built with: a changed list recomputes everyone
deletion_list as (
    select
        cast(count(*) as {{ dbt.type_string() }}) || ':'
        || cast(coalesce(sum({{ key_hash('customer_id') }}), 0) as {{ dbt.type_string() }})
            as _deletion_list
    from deletions
),
{%- if new_web_only %}

-- the customers of the new web events: the earlier of their first activity as built
-- and their first new event (known_at)
first_seen as (
    select
        new_web.customer_id,
        {#- least() skips nulls on DuckDB and Spark -#}
        least(built.first_activity_at, new_web.first_at) as first_activity_at
    from (
        select customer_id, min(known_at) as first_at
        from {{ ref('int_events_stitched') }}
        where _built_at > {{ customer_watermark() }} and customer_id is not null
        group by customer_id
    ) as new_web
    left join {{ this }} as built on new_web.customer_id = built.customer_id
),

all_ids as (
    select customer_id from first_seen
),
{%- else %}

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
{%- endif %}

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
        ) as date) as first_seen_date,
        deletion_list._deletion_list,
        {{ dbt.current_timestamp() }} as _built_at
    from all_ids
    cross join deletion_list
    left join crm on all_ids.customer_id = crm.customer_id
    left join first_seen on all_ids.customer_id = first_seen.customer_id
    where all_ids.customer_id not in (select d.customer_id from deletions as d)
)

select * from final
{%- if is_incremental() and not new_web_only %}
union all
-- tombstones: a customer no longer known (a deletion, or its rows are gone) replaces
-- its old row, then the post-hook deletes it
select
    customer_id, null, null, cast(null as boolean), null, null, null, null, null,
    cast(null as date), null, {{ dbt.current_timestamp() }}
from {{ this }}
where customer_id not in (select customer_id from final)
{%- endif %}
