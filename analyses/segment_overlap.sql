{#- How much segments overlap: for every pair of segments (of any type), the customers
    in both, and the Jaccard index. Helps avoid sending two campaigns to one person.
    `dbt show --select segment_overlap` or compile and run. -#}
with segments as (
    select * from {{ ref('user_segments') }}
),

memberships as (
    select customer_id, 'rfm:' || rfm_segment as segment from segments
    union all
    select customer_id, 'lifecycle:' || lifecycle_stage from segments
    union all
    select customer_id, 'cluster:' || cluster_name from segments
    union all
    select customer_id, 'churn_risk:' || churn_risk_tier from segments
    union all
    select customer_id, 'behaviour:cart_abandoner' from segments where is_cart_abandoner
    union all
    select customer_id, 'behaviour:bargain_hunter' from segments where is_bargain_hunter
    union all
    select customer_id, 'behaviour:high_value' from segments where is_high_value
),

sizes as (
    select segment, count(*) as customers from memberships group by segment
),

pairs as (
    select a.segment as segment_a, b.segment as segment_b, count(*) as both_customers
    from memberships as a
    inner join memberships as b
        on a.customer_id = b.customer_id and a.segment < b.segment
    group by a.segment, b.segment
),

final as (
    select
        pairs.segment_a,
        pairs.segment_b,
        size_a.customers as customers_a,
        size_b.customers as customers_b,
        pairs.both_customers,
        cast(pairs.both_customers as double)
            / (size_a.customers + size_b.customers - pairs.both_customers) as jaccard
    from pairs
    inner join sizes as size_a on pairs.segment_a = size_a.segment
    inner join sizes as size_b on pairs.segment_b = size_b.segment
)

select * from final
order by jaccard desc
