{#- Grain: one row per customer known by the as-of date. Logic and docs:
    macros/features/user_rfm.sql (a macro so the churn model can compute the same
    features as of a past cutoff). -#}
{{ user_rfm_as_of(as_of_date()) }}
