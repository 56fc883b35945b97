{#- One row per anonymous id seen in identified traffic: the customer it belongs to.
    An anonymous id (device, cookie) belongs to the first customer it was seen with
    (identify, login or any event carrying both ids). A shared device seen with several
    customers keeps the first and is counted in customer_count for review.
    Incremental by anonymous id: a run recomputes the ids with web rows staged since
    the last one (see the macro incremental_customers). `_stitched_at` is when the id's
    customer or first identification last changed (a recomputed id that came out the
    same keeps it): the stitched events and the customers' daily tables are redone for
    the ids that changed, not for every id with a new event (macro
    restitched_anonymous_ids). -#}
{{ config(
    materialized=keyed_incremental(),
    unique_key='anonymous_id',
    incremental_strategy='delete+insert',
    on_schema_change='fail',
    post_hook="{{ delete_tombstones('first_identified_at') }}",
) }}

-- depends_on: {{ ref('base_web__events') }}

{%- set full_recompute = customers_need_full_recompute(['base_web__events']) %}

with {{ touched_keys_cte('anonymous_id', full_recompute,
                        changed_keys('base_web__events', 'anonymous_id')) }},

events as (
    select * from {{ ref('stg_web__events') }}
    where {{ only_touched(full_recompute, 'anonymous_id', 'anonymous_id') }}
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
        {{ count_distinct_over('customer_id', 'anonymous_id') }} as customer_count
    from identified
),

{%- if is_incremental() %}
{{ require_columns(this, ['_stitched_at']) }}
{%- endif %}

final as (
    select
        ranked.anonymous_id,
        ranked.customer_id,
        ranked.customer_count,
        ranked.customer_count > 1 as is_shared_device,
        ranked.event_at as first_identified_at,
        {{ dbt.current_timestamp() }} as _built_at,
        {%- if is_incremental() %}
        case
            when previous.customer_id = ranked.customer_id
                and previous.first_identified_at = ranked.event_at
                then previous._stitched_at
            else {{ dbt.current_timestamp() }}
        end as _stitched_at
        {%- else %}
        {{ dbt.current_timestamp() }} as _stitched_at
        {%- endif %}
    from ranked
    {%- if is_incremental() %}
    left join {{ this }} as previous
        on ranked.anonymous_id = previous.anonymous_id
    {%- endif %}
    where ranked.seen_rank = 1
    {%- if is_incremental() %}
    union all
    -- tombstones: a touched id no longer identified replaces its old row, then the
    -- post-hook deletes it
    select anonymous_id, null, null, null, cast(null as timestamp),
        {{ dbt.current_timestamp() }}, {{ dbt.current_timestamp() }}
    from touched
    {%- endif %}
)

select * from final
