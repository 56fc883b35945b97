{#- Grain: one row per customer. The model-ready join of the five per-user marts as
    of var as_of; user_features_as_of(date) gives the same columns at any past date. -#}
{{ join_user_features(
    ref('user_rfm'), ref('user_engagement'), ref('user_lifecycle'),
    ref('user_behaviour'), ref('user_preferences'), as_of_date()
) }}
