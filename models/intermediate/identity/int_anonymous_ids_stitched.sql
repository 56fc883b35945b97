{#- One row per anonymous id seen in identified traffic: the customer it belongs to.
    An anonymous id (device, cookie) belongs to the first customer it was seen with
    (identify, login or any event carrying both ids). A shared device seen with several
    customers keeps the first and is counted in customer_count for review.
    Incremental by anonymous id: a run recomputes the ids with web rows staged since
    the last one (see the macro incremental_customers). `_stitched_at` is when the id's
    customer or first identification last changed (a recomputed id that came out the
    same keeps it): the stitched events and the customers' daily tables are redone for
    the ids that changed, not for every id with a new event (macro
    restitched_anonymous_ids).
    When all that was staged since is newly landed web rows (appended_web_rows_only,
    the usual next run), an id's answer is its old row merged with its new identified
    rows, without reading its older events: the first customer is whichever of the two
    came first, and a count of one grows by the new customers other than it. Ids where
    that is not enough (a shared device: customer_count > 1, or a new row at the very
    time of the first identification) are recomputed from all their rows. At 100M events
    the next day read 5.9M older events of 75k ids (10 s) for 0.36M new ones. -#}
{{ config(
    materialized=keyed_incremental(),
    unique_key='anonymous_id',
    incremental_strategy='delete+insert',
    on_schema_change='fail',
    post_hook="{{ delete_tombstones('first_identified_at') }}",
) }}

-- depends_on: {{ ref('base_web__events') }}

{%- set full_recompute = customers_need_full_recompute(['base_web__events']) %}
{%- set merge_new_rows = appended_web_rows_only(full_recompute) %}

{%- if merge_new_rows %}
{%- set since = customer_watermark() %}

with new_identified as (
    select anonymous_id, customer_id, event_at, event_id
    from {{ ref('stg_web__events') }}
    where _staged_at > {{ since }}
        and anonymous_id is not null and customer_id is not null
),

new_first as (
    select
        anonymous_id,
        customer_id,
        event_at,
        row_number() over (partition by anonymous_id order by event_at, event_id) as seen_rank
    from new_identified
),

-- each id's first new identification beside its built row (if it has one)
compared as (
    select
        new_first.anonymous_id,
        new_first.customer_id as new_customer_id,
        new_first.event_at as new_first_identified_at,
        previous.anonymous_id is not null as was_built,
        previous.anonymous_id is null
            or new_first.event_at < previous.first_identified_at as new_comes_first,
        previous.customer_id as previous_customer_id,
        previous.customer_count as previous_customer_count,
        previous.first_identified_at as previous_first_identified_at,
        previous._stitched_at as previous_stitched_at
    from new_first
    left join {{ this }} as previous
        on new_first.anonymous_id = previous.anonymous_id
    where new_first.seen_rank = 1
),

new_customers as (
    select
        new_identified.anonymous_id,
        count(distinct new_identified.customer_id) as customers,
        count(distinct case when new_identified.customer_id != compared.previous_customer_id
            then new_identified.customer_id end) as customers_besides_previous
    from new_identified
    inner join compared
        on new_identified.anonymous_id = compared.anonymous_id
    group by new_identified.anonymous_id
),

merged as (
    select
        compared.anonymous_id,
        case when new_comes_first then new_customer_id else previous_customer_id end
            as customer_id,
        case
            when was_built then 1 + new_customers.customers_besides_previous
            else new_customers.customers
        end as customer_count,
        case
            when new_comes_first then new_first_identified_at
            else previous_first_identified_at
        end as first_identified_at,
        was_built and (previous_customer_count > 1
                       or new_first_identified_at = previous_first_identified_at)
            as needs_all_rows,
        previous_customer_id,
        previous_first_identified_at,
        previous_stitched_at
    from compared
    inner join new_customers
        on compared.anonymous_id = new_customers.anonymous_id
),

-- the ids the merge cannot answer: every row of theirs, as a full build reads them
touched as (
    select anonymous_id from merged where needs_all_rows
),
{%- else %}

with {{ touched_keys_cte('anonymous_id', full_recompute,
                        changed_keys('base_web__events', 'anonymous_id')) }},
{%- endif %}

events as (
    select input_rows.* from {{ ref('stg_web__events') }} as input_rows
    {{ touched_join(full_recompute, 'input_rows', 'anonymous_id', 'anonymous_id') }}
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

-- each id's first identification and its number of customers: one aggregation (at
-- 100M events 112 s of CPU as windows, which sort every identified event)
first_seen as (
    select
        anonymous_id,
        {{ value_at_min('customer_id', ['event_at', 'event_id']) }} as customer_id,
        min(event_at) as event_at,
        count(distinct customer_id) as customer_count
    from identified
    group by anonymous_id
),

{%- if is_incremental() %}
{{ require_columns(this, ['_stitched_at']) }}
{%- endif %}

final as (
    select
        first_seen.anonymous_id,
        first_seen.customer_id,
        first_seen.customer_count,
        first_seen.customer_count > 1 as is_shared_device,
        first_seen.event_at as first_identified_at,
        {{ dbt.current_timestamp() }} as _built_at,
        {%- if is_incremental() %}
        case
            when previous.customer_id = first_seen.customer_id
                and previous.first_identified_at = first_seen.event_at
                then previous._stitched_at
            else {{ dbt.current_timestamp() }}
        end as _stitched_at
        {%- else %}
        {{ dbt.current_timestamp() }} as _stitched_at
        {%- endif %}
    from first_seen
    {%- if is_incremental() %}
    left join {{ this }} as previous
        on first_seen.anonymous_id = previous.anonymous_id
    {%- endif %}
    {%- if merge_new_rows %}
    union all
    select
        anonymous_id,
        customer_id,
        customer_count,
        customer_count > 1,
        first_identified_at,
        {{ dbt.current_timestamp() }},
        case
            when previous_customer_id = customer_id
                and previous_first_identified_at = first_identified_at
                then previous_stitched_at
            else {{ dbt.current_timestamp() }}
        end
    from merged
    where not needs_all_rows
    {%- elif is_incremental() %}
    union all
    -- tombstones: a touched id no longer identified replaces its old row, then the
    -- post-hook deletes it
    select anonymous_id, null, null, null, cast(null as timestamp),
        {{ dbt.current_timestamp() }}, {{ dbt.current_timestamp() }}
    from touched
    {%- endif %}
)

select * from final
