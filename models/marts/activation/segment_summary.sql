{#- One row per segment and as-of date for BI: size, revenue share, churn risk, expected
    value, exportable share. Segments of every kind are listed (rfm, lifecycle,
    engagement, cluster, churn tier, behaviour flags). Grain: segment_type +
    segment_value + as_of_date. -#}
with segments as (
    select * from {{ ref('user_segments') }}
),

memberships as (
    {%- set kinds = [('rfm', 'rfm_segment'), ('lifecycle', 'lifecycle_stage'),
                     ('engagement', 'engagement_tier'), ('cluster', 'cluster_name'),
                     ('churn_risk', 'churn_risk_tier')] %}
    {% for kind, column in kinds %}
    select '{{ kind }}' as segment_type, {{ column }} as segment_value, * from segments
    union all
    {% endfor %}
    {%- set flags = ['cart_abandoner', 'recent_browser', 'window_shopper', 'high_value',
                     'bargain_hunter', 'seasonal_buyer', 'new_subscriber'] %}
    {% for flag in flags %}
    select 'behaviour' as segment_type, '{{ flag }}' as segment_value, * from segments
    where is_{{ flag }}
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

totals as (
    select sum(monetary) as total_monetary, count(*) as total_customers from segments
),

final as (
    select
        memberships.segment_type,
        memberships.segment_value,
        count(*) as customers,
        cast(count(*) as double) / max(totals.total_customers) as customer_share,
        sum(memberships.monetary) as monetary,
        sum(memberships.monetary) / nullif(max(totals.total_monetary), 0) as revenue_share,
        avg(memberships.churn_probability) as avg_churn_probability,
        {{ count_if("memberships.churn_risk_tier = 'high'") }} as high_churn_risk_customers,
        sum(memberships.expected_revenue) as expected_revenue,
        {{ count_if("memberships.is_exportable") }} as exportable_customers,
        {{ count_if("memberships.is_holdout") }} as holdout_customers,
        memberships.as_of_date
    from memberships
    cross join totals
    group by memberships.segment_type, memberships.segment_value, memberships.as_of_date
)

select * from final
