{{ config(materialized='table', access='public', contract={'enforced': true}) }}
{#- The row per customer the ESP sync and BI read: every label, the scores, consent,
    holdout and whether the row may be exported. Grain: one row per known customer
    (GDPR-deleted customers are gone). Email and first name only where the customer
    may be emailed; export_hash changes exactly when an exported field changes. -#}
with features as (
    select * from {{ ref('user_features') }}
),

crm as (
    select customer_id, email, first_name from {{ ref('stg_crm__customers') }}
),

activity as (
    select * from {{ ref('int_customer_activity_daily') }}
    where activity_date <= {{ as_of_date() }}
),

customers as (
    select * from {{ ref('int_customers_unified') }}
),

clusters as (
    select * from {{ ref('ml_user_clusters') }}
),

churn as (
    select * from {{ ref('ml_user_churn') }}
),

value as (
    select * from {{ ref('ml_user_value') }}
),

playbook as (
    select * from {{ ref('segment_playbook') }}
),

suppressions as (
    select
        customer_id,
        sum(spam_complaints) > 0 as has_complained,
        sum(unsubscribes) > 0 as has_unsubscribed_by_email,
        sum(hard_bounces) > 0 as has_hard_bounced
    from activity
    group by customer_id
),

labelled as (
    select
        features.*,
        crm.email as crm_email,
        crm.first_name as crm_first_name,
        clusters.cluster_id,
        clusters.cluster_name,
        churn.churn_probability,
        churn.churn_risk_tier,
        value.expected_orders,
        value.expected_revenue,
        value.expected_next_order_date,
        case
            when coalesce(suppressions.has_complained, false) then 'complained'
            when coalesce(suppressions.has_unsubscribed_by_email, false)
                or customers.unsubscribed_at < {{ as_of_end(as_of_date()) }}
                then 'unsubscribed'
            when coalesce(suppressions.has_hard_bounced, false) then 'hard_bounced'
            when not customers.has_email_consent or crm.email is null then 'no_consent'
            else 'consented'
        end as consent_status,
        {{ holdout_bucket('features.customer_id') }}
            < {{ var('holdout_share') }} * 10000 as is_holdout
    from features
    inner join customers on features.customer_id = customers.customer_id
    left join crm on features.customer_id = crm.customer_id
    left join clusters on features.customer_id = clusters.customer_id
    left join churn on features.customer_id = churn.customer_id
    left join value on features.customer_id = value.customer_id
    left join suppressions on features.customer_id = suppressions.customer_id
),

-- every label a customer carries, to find the playbook's first matching rule
memberships as (
    select customer_id, 'rfm' as segment_type, rfm_segment as segment_value from labelled
    union all
    select customer_id, 'lifecycle', lifecycle_stage from labelled
    union all
    select customer_id, 'churn', churn_risk_tier from labelled
    union all
    select customer_id, 'behaviour', 'cart_abandoner' from labelled where is_cart_abandoner
    union all
    select customer_id, 'behaviour', 'window_shopper' from labelled where is_window_shopper
    union all
    select customer_id, 'behaviour', 'bargain_hunter' from labelled where is_bargain_hunter
    union all
    select customer_id, 'default', 'any' from labelled
),

actions as (
    select
        memberships.customer_id,
        playbook.next_best_action,
        playbook.offer,
        playbook.send_frequency,
        row_number() over (
            partition by memberships.customer_id order by playbook.priority
        ) as action_rank
    from memberships
    inner join playbook
        on memberships.segment_type = playbook.segment_type
        and memberships.segment_value = playbook.segment_value
),

final as (
    select
        labelled.customer_id,
        case when labelled.consent_status = 'consented' then labelled.crm_email end
            as email,
        case when labelled.consent_status = 'consented' then labelled.crm_first_name end
            as first_name,
        labelled.rfm_segment,
        labelled.engagement_tier,
        labelled.lifecycle_stage,
        labelled.previous_stage,
        labelled.favourite_category,
        labelled.cluster_name,
        labelled.churn_risk_tier,
        actions.next_best_action,
        actions.offer as next_best_offer,
        actions.send_frequency,
        labelled.consent_status,
        cast(labelled.r_score as integer) as r_score,
        cast(labelled.f_score as integer) as f_score,
        cast(labelled.m_score as integer) as m_score,
        cast(labelled.cluster_id as integer) as cluster_id,
        cast(labelled.best_send_hour as integer) as best_send_hour,
        cast(labelled.recency_days as integer) as recency_days,
        cast(labelled.frequency as integer) as frequency,
        cast(labelled.monetary as double) as monetary,
        cast(labelled.engagement_score as double) as engagement_score,
        cast(labelled.churn_probability as double) as churn_probability,
        cast(labelled.expected_orders as double) as expected_orders,
        cast(labelled.expected_revenue as double) as expected_revenue,
        labelled.is_cart_abandoner,
        labelled.is_recent_browser,
        labelled.is_window_shopper,
        labelled.is_high_value,
        labelled.is_bargain_hunter,
        labelled.is_seasonal_buyer,
        labelled.is_new_subscriber,
        labelled.is_holdout,
        labelled.consent_status = 'consented' and not labelled.is_holdout as is_exportable,
        cast(labelled.expected_next_order_date as date) as expected_next_order_date,
        cast(labelled.as_of_date as date) as as_of_date,
        {{ as_of_end('labelled.as_of_date') }} as updated_at
    from labelled
    left join actions
        on labelled.customer_id = actions.customer_id and actions.action_rank = 1
),

hashed as (
    select
        *,
        {{ portable_hash(['email', 'first_name', 'rfm_segment', 'engagement_tier',
                     'lifecycle_stage', 'favourite_category', 'cluster_name',
                     'churn_risk_tier', 'next_best_action', 'best_send_hour',
                     'is_cart_abandoner', 'is_high_value', 'is_bargain_hunter',
                     'is_window_shopper', 'is_new_subscriber']) }} as export_hash
    from final
)

select * from hashed
