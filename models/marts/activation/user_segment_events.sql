{#- One row per entry into or exit from a segment, between consecutive snapshots of
    user_segment_history: "became at risk", "abandoned a cart", "reactivated". Segment
    types: lifecycle, rfm, cluster, churn_risk, engagement, behaviour. A customer's
    first snapshot is an entry into each segment it holds. Grain: customer_id +
    segment_type + segment_value + event_type + event_date. -#}
with history as (
    select * from {{ ref('user_segment_history') }}
),

memberships as (
    {%- set kinds = [('lifecycle', 'lifecycle_stage'), ('rfm', 'rfm_segment'),
                     ('cluster', 'cluster_name'), ('churn_risk', 'churn_risk_tier'),
                     ('engagement', 'engagement_tier')] %}
    {% for kind, column in kinds %}
    select customer_id, as_of_date, '{{ kind }}' as segment_type, {{ column }} as segment_value
    from history
    union all
    {% endfor %}
    {%- set flags = ['cart_abandoner', 'window_shopper', 'bargain_hunter', 'high_value',
                     'new_subscriber'] %}
    {% for flag in flags %}
    select customer_id, as_of_date, 'behaviour', '{{ flag }}' from history
    where is_{{ flag }}
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

snapshots as (
    select distinct
        customer_id,
        as_of_date,
        lag(as_of_date) over (partition by customer_id order by as_of_date)
            as previous_as_of_date
    from (select distinct customer_id, as_of_date from history) as d
),

entries as (
    select
        now.customer_id,
        now.segment_type,
        now.segment_value,
        'entered' as event_type,
        snapshots.previous_as_of_date,
        now.as_of_date as event_date
    from memberships as now
    inner join snapshots
        on now.customer_id = snapshots.customer_id and now.as_of_date = snapshots.as_of_date
    left join memberships as before
        on before.customer_id = now.customer_id
        and before.as_of_date = snapshots.previous_as_of_date
        and before.segment_type = now.segment_type
        and before.segment_value = now.segment_value
    where before.customer_id is null
),

exits as (
    select
        before.customer_id,
        before.segment_type,
        before.segment_value,
        'exited' as event_type,
        snapshots.previous_as_of_date,
        snapshots.as_of_date as event_date
    from snapshots
    inner join memberships as before
        on before.customer_id = snapshots.customer_id
        and before.as_of_date = snapshots.previous_as_of_date
    left join memberships as now
        on now.customer_id = snapshots.customer_id
        and now.as_of_date = snapshots.as_of_date
        and now.segment_type = before.segment_type
        and now.segment_value = before.segment_value
    where now.customer_id is null
),

final as (
    select * from entries
    union all
    select * from exits
)

select * from final
