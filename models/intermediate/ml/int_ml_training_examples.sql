{#- Point-in-time training examples for the churn and value models.
    For two cutoffs, every customer of the fit sample (int_ml_fit_customers: all of
    them up to var ml_max_fit_rows) known then, with user_features computed as of the
    cutoff (user_features_as_of: nothing after it) and the outcome in the
    churn_horizon_days after it:
      holdout_train  cutoff = as_of - 2H: fit here, to evaluate on ...
      holdout_test   cutoff = as_of - H:  ... the later period (a temporal holdout)
    The production fit uses holdout_test's rows (the most recent outcomes) and scores
    user_features as of as_of. Grain: customer_id + example_role.
    Computed in full only when the fits may refit (ml_examples_due: a refit is due by
    var ml_refit_every_days, settings changed, no accepted fit); otherwise the rows are
    kept as they are and nothing is computed. -#}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='sync_all_columns',
    pre_hook="{% if is_incremental() and ml_examples_due() %}delete from {{ this }}{% endif %}"
) }}
{%- set h = var('churn_horizon_days') -%}
{%- set cutoffs = [
    ('holdout_train', dbt.dateadd('day', -2 * h, as_of_date())),
    ('holdout_test', dbt.dateadd('day', -h, as_of_date())),
] -%}
{%- set fit_customers = ref('int_ml_fit_customers') -%}
with activity as (
    select * from {{ feature_input('int_customer_activity_daily', fit_customers) }}
),

{% for role, cutoff in cutoffs %}
features_{{ role }} as (
    {{ user_features_as_of('cast(' ~ cutoff ~ ' as date)', fit_customers) }}
),

outcomes_{{ role }} as (
    select
        customer_id,
        sum(orders) as next_orders,
        sum(order_revenue) as next_revenue,
        min(case when orders > 0 then activity_date end) as next_order_date
    from activity
    where activity_date > cast({{ cutoff }} as date)
        and activity_date <= {{ dbt.dateadd('day', h, 'cast(' ~ cutoff ~ ' as date)') }}
    group by customer_id
),

examples_{{ role }} as (
    select
        features.*,
        '{{ role }}' as example_role,
        coalesce(outcomes.next_orders, 0) as next_orders,
        coalesce(outcomes.next_revenue, 0) as next_revenue,
        coalesce(outcomes.next_orders, 0) = 0 as is_churned,
        outcomes.next_order_date,
        '{{ ml_examples_settings() }}' as examples_settings
    from features_{{ role }} as features
    left join outcomes_{{ role }} as outcomes
        on features.customer_id = outcomes.customer_id
),
{% endfor %}

final as (
    {% for role, cutoff in cutoffs %}
    select * from examples_{{ role }}
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
)

{% if ml_examples_due() %}
select * from final
{% else %}
select * from {{ this }} where 1 = 0  -- kept: the fits reuse their model this run
{% endif %}
