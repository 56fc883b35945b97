{#- Lift of a campaign over the holdout, with a two-proportion z-test.
    Run: dbt compile --select campaign_lift --vars '{campaign_id: CMP12}' and run the SQL
    in target/compiled/..., or `dbt show --select campaign_lift`.
    Treated: consented customers outside the holdout who were sent the campaign.
    Control: consented holdout customers (campaigns skip them).
    Conversion: an order within lift_window_days after the campaign's first send.
    The p-value is two-sided, from the normal approximation (Abramowitz-Stegun 26.2.17,
    accurate to 1e-7), so it runs on any engine. -#}
{%- set campaign = var('campaign_id', 'CMP0') -%}
{%- set window_days = var('lift_window_days', 7) -%}
with segments as (
    select * from {{ ref('user_segments') }}
),

messages as (
    select * from {{ ref('int_email_messages') }}
),

orders as (
    select * from {{ ref('stg_shop__orders') }}
    where order_status in ('completed', 'refunded')
),

campaign as (
    select min(sent_at) as sent_at from messages where campaign_id = '{{ campaign }}'
),

recipients as (
    select distinct customer_id from messages where campaign_id = '{{ campaign }}'
),

groups as (
    select
        segments.customer_id,
        case
            when segments.is_holdout then 'control'
            when recipients.customer_id is not null then 'treated'
        end as lift_group
    from segments
    left join recipients on segments.customer_id = recipients.customer_id
    where segments.consent_status = 'consented'
),

converted as (
    select distinct orders.customer_id
    from orders
    cross join campaign
    where orders.ordered_at >= campaign.sent_at
        and orders.ordered_at < {{ dbt.dateadd('day', window_days, 'campaign.sent_at') }}
),

rates as (
    select
        {{ count_if("lift_group = 'treated'") }} as treated,
        {{ count_if("lift_group = 'treated' and converted.customer_id is not null") }}
            as treated_converted,
        {{ count_if("lift_group = 'control'") }} as control,
        {{ count_if("lift_group = 'control' and converted.customer_id is not null") }}
            as control_converted
    from groups
    left join converted on groups.customer_id = converted.customer_id
    where lift_group is not null
),

tested as (
    select
        *,
        cast(treated_converted as double) / nullif(treated, 0) as treated_rate,
        cast(control_converted as double) / nullif(control, 0) as control_rate,
        cast(treated_converted + control_converted as double)
            / nullif(treated + control, 0) as pooled_rate
    from rates
),

z as (
    select
        *,
        treated_rate - control_rate as absolute_lift,
        (treated_rate - control_rate) / nullif(control_rate, 0) as relative_lift,
        (treated_rate - control_rate) / nullif(sqrt(pooled_rate * (1 - pooled_rate)
            * (1.0 / nullif(treated, 0) + 1.0 / nullif(control, 0))), 0) as z_score
    from tested
),

final as (
    select
        '{{ campaign }}' as campaign_id,
        {{ window_days }} as window_days,
        treated,
        treated_converted,
        treated_rate,
        control,
        control_converted,
        control_rate,
        absolute_lift,
        relative_lift,
        z_score,
        -- two-sided p = 2 * (1 - Phi(|z|)), Phi by Abramowitz-Stegun 26.2.17
        2 * (exp(-0.5 * z_score * z_score) / sqrt(2 * pi()))
            * (0.319381530 * t - 0.356563782 * power(t, 2) + 1.781477937 * power(t, 3)
               - 1.821255978 * power(t, 4) + 1.330274429 * power(t, 5)) as p_value
    from (select *, 1 / (1 + 0.2316419 * abs(z_score)) as t from z) as with_t
)

select * from final
