{#- Grain: one row per customer known by the as-of date. The stages come from
    int_lifecycle_current (incremental by customer); logic and docs:
    macros/features/user_lifecycle.sql (a macro so the churn model can compute the same
    features as of a past cutoff). -#}
{%- set as_of = as_of_date() %}

with current_stage as (
    select * from {{ ref('int_lifecycle_current') }}
),

final as (
    select
        customer_id,
        lifecycle_stage,
        previous_stage,
        {{ days_between('stage_entered_date', as_of) }} as days_in_stage,
        stage_entered_date,
        {{ as_of }} as as_of_date
    from current_stage
)

select * from final
