{#- What each cluster is: its size and its centre in original units (the means of the
    behaviour the clustering uses), so BI can show what makes each cluster different.
    Grain: one row per cluster of the accepted model. -#}
with clusters as (
    select * from {{ ref('ml_user_clusters') }}
),

features as (
    select * from {{ ref('user_features') }}
),

joined as (
    select
        clusters.cluster_id,
        clusters.cluster_name,
        clusters.model_run_id,
        features.lifetime_orders * 365.0 / greatest(features.observed_days, 30)
            as orders_per_year,
        features.lifetime_revenue / nullif(features.lifetime_orders, 0) as avg_order_value,
        features.coupon_order_share,
        cast(features.opens_365d as double) / nullif(features.deliveries_365d, 0)
            as open_rate_365d,
        cast(features.clicks_365d as double) / nullif(features.deliveries_365d, 0)
            as click_rate_365d,
        features.visit_days_365d,
        features.monetary,
        features.frequency,
        features.recency_days,
        features.engagement_score,
        features.favourite_category,
        features.best_send_hour,
        features.send_time_source
    from clusters
    inner join features on clusters.customer_id = features.customer_id
),

totals as (
    select count(*) as customers from joined
),

final as (
    select
        joined.cluster_id,
        joined.cluster_name,
        joined.model_run_id,
        count(*) as customers,
        cast(count(*) as double) / max(totals.customers) as share,
        avg(orders_per_year) as avg_orders_per_year,
        avg(avg_order_value) as avg_order_value,
        avg(coupon_order_share) as avg_coupon_order_share,
        avg(open_rate_365d) as avg_open_rate_365d,
        avg(click_rate_365d) as avg_click_rate_365d,
        avg(visit_days_365d) as avg_visit_days_365d,
        avg(frequency) as avg_frequency,
        avg(monetary) as avg_monetary,
        sum(monetary) as total_monetary,
        avg(recency_days) as avg_recency_days,
        avg(engagement_score) as avg_engagement_score
    from joined
    cross join totals
    group by joined.cluster_id, joined.cluster_name, joined.model_run_id
),

-- the most common value per cluster, ties to the smallest: mode() picks any of the tied
-- values (a rebuild gave another send hour) and is not on every engine
top_category as (
    select
        cluster_id,
        favourite_category,
        row_number() over (
            partition by cluster_id order by count(*) desc, favourite_category
        ) as value_rank
    from joined
    where favourite_category is not null
    group by cluster_id, favourite_category
),

top_hour as (
    select
        cluster_id,
        best_send_hour,
        row_number() over (
            partition by cluster_id order by count(*) desc, best_send_hour
        ) as value_rank
    from joined
    where send_time_source = 'own' and best_send_hour is not null
    group by cluster_id, best_send_hour
)

select
    final.*,
    top_category.favourite_category as top_favourite_category,
    top_hour.best_send_hour as top_send_hour
from final
left join top_category
    on final.cluster_id = top_category.cluster_id and top_category.value_rank = 1
left join top_hour
    on final.cluster_id = top_hour.cluster_id and top_hour.value_rank = 1
