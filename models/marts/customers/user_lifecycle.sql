{#- Grain: one row per customer known by the as-of date. The stages come from
    int_lifecycle_current (incremental by customer); logic and docs:
    macros/features/user_lifecycle.sql (a macro so the churn model can compute the same
    features as of a past cutoff). -#}
with current_stage as (
    select * from {{ ref('int_lifecycle_current') }}
)

{{ lifecycle_as_of_columns('current_stage', as_of_date()) }}
