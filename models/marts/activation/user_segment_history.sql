{{ config(materialized='incremental', unique_key=['customer_id', 'as_of_date'],
          on_schema_change='append_new_columns') }}
{#- Each customer's labels at every as-of date a build has seen: the history triggered
    campaigns need. Incremental: a build appends (or, for the same as-of date, replaces)
    one snapshot, so rebuilding the same data changes nothing. Grain: customer_id +
    as_of_date. -#}
with segments as (
    select * from {{ ref('user_segments') }}
),

final as (
    select
        customer_id,
        lifecycle_stage,
        rfm_segment,
        cluster_name,
        churn_risk_tier,
        engagement_tier,
        is_cart_abandoner,
        is_window_shopper,
        is_bargain_hunter,
        is_high_value,
        is_new_subscriber,
        as_of_date,
        {{ dbt.current_timestamp() }} as _built_at
    from segments
)

select * from final
