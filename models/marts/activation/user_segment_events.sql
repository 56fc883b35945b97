{{ config(
    materialized=keyed_incremental(),
    incremental_strategy='append',
    on_schema_change='append_new_columns',
    pre_hook="{% if is_incremental() %}delete from {{ this }}
              where event_date >= {{ segment_events_since() }}{% endif %}"
) }}
-- depends_on: {{ ref('user_segments') }}
{#- One row per entry into or exit from a segment between a snapshot of
    user_segment_history and the snapshot before it (the previous as-of date in the
    history): "became at risk", "abandoned a cart", "reactivated". Segment types:
    lifecycle, rfm, cluster, churn_risk, engagement, behaviour. A customer absent from
    the previous snapshot (new, or back after an absence) enters each segment it holds;
    a customer absent from a snapshot has no events on its date. Grain: customer_id +
    segment_type + segment_value + event_type + event_date.

    Incremental: a build rewrites only the event dates from the as-of date it wrote into
    the history (segment_events_since) on, reading the history from the snapshot before
    it: two snapshots a day, not the whole history, which grows by one snapshot of every
    customer per as-of date. A rebuild of an earlier date redoes every date after it.
    Each snapshot is compared with the previous one as two wide rows per customer (one
    join), not as segment memberships (ten joins). -#}
{%- set kinds = [('lifecycle', 'lifecycle_stage'), ('rfm', 'rfm_segment'),
                 ('cluster', 'cluster_name'), ('churn_risk', 'churn_risk_tier'),
                 ('engagement', 'engagement_tier')] %}
{%- set flags = ['cart_abandoner', 'window_shopper', 'bargain_hunter', 'high_value',
                 'new_subscriber'] %}
{%- set history_relation = ref('user_segment_history') %}
{%- if is_incremental() %}
{%- set since = segment_events_since() %}
{%- set read_from = query_literal(
    'select coalesce(max(as_of_date), ' ~ since ~ ') from ' ~ history_relation
    ~ ' where as_of_date < ' ~ since, history_relation) %}
{%- endif %}
with history as (
    select * from {{ history_relation }}
    {%- if is_incremental() %}
    where as_of_date >= {{ read_from }}
    {%- endif %}
),

snapshot_dates as (
    select
        as_of_date,
        lag(as_of_date) over (order by as_of_date) as previous_as_of_date
    from (select distinct as_of_date from history) as d
),

event_dates as (
    select * from snapshot_dates
    {%- if is_incremental() %}
    where as_of_date >= {{ since }}
    {%- endif %}
),

-- each customer's snapshot beside its snapshot of the previous as-of date
pairs as (
    select
        now.customer_id,
        event_dates.as_of_date as event_date,
        case when before.customer_id is not null then event_dates.previous_as_of_date end
            as previous_as_of_date,
        {%- for kind, column in kinds %}
        now.{{ column }} as now_{{ kind }},
        before.{{ column }} as before_{{ kind }},
        {%- endfor %}
        {%- for flag in flags %}
        coalesce(now.is_{{ flag }}, false) as now_{{ flag }},
        coalesce(before.is_{{ flag }}, false) as before_{{ flag }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    from event_dates
    inner join history as now
        on now.as_of_date = event_dates.as_of_date
    left join history as before
        on before.as_of_date = event_dates.previous_as_of_date
        and before.customer_id = now.customer_id
),

final as (
    {%- for kind, column in kinds %}
    select customer_id, '{{ kind }}' as segment_type, now_{{ kind }} as segment_value,
        'entered' as event_type, previous_as_of_date, event_date
    from pairs
    where now_{{ kind }} is not null
        and (before_{{ kind }} is null or before_{{ kind }} != now_{{ kind }})
    union all
    select customer_id, '{{ kind }}', before_{{ kind }}, 'exited', previous_as_of_date,
        event_date
    from pairs
    where before_{{ kind }} is not null
        and (now_{{ kind }} is null or now_{{ kind }} != before_{{ kind }})
    union all
    {%- endfor %}
    {%- for flag in flags %}
    select customer_id, 'behaviour', '{{ flag }}', 'entered', previous_as_of_date, event_date
    from pairs
    where now_{{ flag }} and not before_{{ flag }}
    union all
    select customer_id, 'behaviour', '{{ flag }}', 'exited', previous_as_of_date, event_date
    from pairs
    where before_{{ flag }} and not now_{{ flag }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
)

select *, {{ dbt.current_timestamp() }} as _built_at from final
