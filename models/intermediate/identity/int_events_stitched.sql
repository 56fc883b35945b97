{#- Web events with the customer resolved: an anonymous event gets the customer its
    anonymous id was later (or earlier) identified as. known_at is when the business
    could attribute the event to the customer: the event time, or for a stitched event
    the identification time if later. Point-in-time features use known_at.
    Incremental by event: a run recomputes the events staged since the last one and
    every event of an anonymous id with new rows (its customer may have changed); see
    the macro incremental_customers. -#}
{{ config(
    materialized=keyed_incremental(),
    unique_key='event_id',
    incremental_strategy='delete+insert',
    on_schema_change='fail',
    post_hook="{{ delete_tombstones('event_at') }}",
) }}

-- depends_on: {{ ref('base_web__events') }}

{%- set full_recompute = customers_need_full_recompute(['base_web__events']) %}

{%- set changed -%}
    {{ changed_keys('base_web__events', 'event_id') }}
    union
    select event_id from {{ ref('stg_web__events') }}
    where anonymous_id in (
        {{ changed_keys('base_web__events', 'anonymous_id') }}
    )
{%- endset %}

with {{ touched_keys_cte('event_id', full_recompute, changed) }},

events as (
    select * from {{ ref('stg_web__events') }}
    where {{ only_touched(full_recompute, 'event_id', 'event_id') }}
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
        end as known_at,
        {{ dbt.current_timestamp() }} as _built_at
    from events
    left join identities
        on events.anonymous_id = identities.anonymous_id
    {%- if is_incremental() %}
    union all
    -- tombstones: a touched event no longer staged replaces its old row, then the
    -- post-hook deletes it
    select event_id, null, null, null, null, null, null, null,
        cast(null as timestamp), cast(null as timestamp), {{ dbt.current_timestamp() }}
    from touched
    {%- endif %}
)

select * from final
