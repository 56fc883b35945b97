{#- Grain: one row per customer known by the as-of date. Logic and docs:
    macros/features/user_behaviour.sql (a macro so the churn model can compute the same
    features as of a past cutoff). -#}
{{ user_behaviour_as_of(as_of_date()) }}
