{#- The anonymous web events (no customer id of their own) with the customer their
    anonymous id was later (or earlier) identified as; a never-identified id's events
    keep a null customer. known_at is when the business could attribute the event to
    the customer: the event time, or for a stitched event the identification time if
    later. Point-in-time features use known_at. The identified events need no
    stitching: int_events_stitched (a view) reads them from staging beside these, so
    the large table of events is not stored twice (at 100M events, 100M of the 120M).
    Incremental by event: a run recomputes the anonymous events staged since the last
    one and every event of an anonymous id whose stitching changed
    (restitched_anonymous_ids), plus, for an id that lost its identity, its stitched
    events. Every event staged since, identified or not, replaces its row here (an
    event whose row is no longer anonymous leaves). See the macro
    incremental_customers. -#}
{{ config(
    materialized=keyed_incremental(),
    unique_key='event_id',
    incremental_strategy='delete+insert',
    on_schema_change='fail',
    post_hook="{{ delete_tombstones('event_at') }}",
) }}

-- depends_on: {{ ref('base_web__events') }}

{%- set full_recompute = customers_need_full_recompute(['base_web__events']) %}
{%- set incremental_run = is_incremental() and not full_recompute %}
{%- set since = customer_watermark() %}

with {{ touched_keys_cte('event_id', full_recompute,
                        changed_keys('base_web__events', 'event_id')) }},

{%- if incremental_run %}

restitched as (
    {{ restitched_anonymous_ids(since) }}
),

-- of those, ids with an identity now, and ids without one whose events were stitched
-- here (never-identified ids change no event)
restitched_ids as (
    select anonymous_id from restitched
    where anonymous_id in (select anonymous_id from {{ ref('int_anonymous_ids_stitched') }})
    union
    select anonymous_id from restitched
    where anonymous_id in (select anonymous_id from {{ this }} where is_stitched)
),
{%- endif %}

events as (
    {%- if incremental_run %}
    -- the rows staged since (a literal watermark: old row groups are skipped; every
    -- staged row of a touched event was staged again with it) ...
    select * from {{ ref('stg_web__events') }}
    where _staged_at > {{ since }}
    union all
    -- ... and the older events of the restitched ids (a join on the distinct ids, as
    -- touched_join does: not `anonymous_id in (select ...)`, whose hash table DuckDB
    -- may build on the large side)
    select older.* from {{ ref('stg_web__events') }} as older
    inner join (select distinct anonymous_id as restitched_id from restitched_ids) as ids
        on older.anonymous_id = ids.restitched_id
    where older._staged_at <= {{ since }}
    {%- else %}
    select input_rows.* from {{ ref('stg_web__events') }} as input_rows
    {{ touched_join(full_recompute, 'input_rows', 'event_id', 'event_id') }}
    {%- endif %}
),

identities as (
    select * from {{ ref('int_anonymous_ids_stitched') }}
),

final as (
    select
        events.event_id,
        identities.customer_id,
        events.anonymous_id,
        events.session_id,
        events.product_id,
        events.event_type,
        events.category,
        identities.customer_id is not null as is_stitched,
        events.event_at,
        case
            when identities.customer_id is not null
                then greatest(events.event_at, identities.first_identified_at)
            else events.event_at
        end as known_at,
        {{ dbt.current_timestamp() }} as _built_at
    from events
    left join identities
        on events.anonymous_id = identities.anonymous_id
    where events.customer_id is null
    {%- if is_incremental() %}
    union all
    -- tombstones: a touched event no longer staged, or no longer anonymous, replaces
    -- its old row, then the post-hook deletes it
    select event_id, null, null, null, null, null, null, null,
        cast(null as timestamp), cast(null as timestamp), {{ dbt.current_timestamp() }}
    from touched
    {%- endif %}
)

select * from final
