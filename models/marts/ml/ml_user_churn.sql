{{ config(materialized='table', schema='ml') }}
{#- Churn risk tiers: high for the top churn_high_risk_share of customers by churn
    probability, medium for the next churn_medium_risk_share, low for the rest. Ties in
    probability go by customer id, so the shares hold exactly and a rebuild gives the
    same tiers. Ranked here in SQL rather than in the scoring model: scores are made in
    parallel batches (on Spark on the executors) and never meet in one process. -#}
with scores as (
    select * from {{ ref('ml_churn_scores') }}
),

ranked as (
    select
        customer_id,
        churn_probability,
        is_rule_based,
        model_run_id,
        row_number() over (order by churn_probability desc, customer_id) as risk_rank,
        count(*) over () as scored_customers
    from scores
)

select
    customer_id,
    churn_probability,
    case
        when risk_rank <= round(scored_customers * {{ var('churn_high_risk_share') }})
            then 'high'
        when risk_rank <= round(scored_customers
            * ({{ var('churn_high_risk_share') }} + {{ var('churn_medium_risk_share') }}))
            then 'medium'
        else 'low'
    end as churn_risk_tier,
    is_rule_based,
    model_run_id
from ranked
