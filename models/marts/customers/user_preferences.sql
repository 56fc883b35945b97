{#- Grain: one row per customer known by the as-of date. Logic and docs:
    macros/features/user_preferences.sql (a macro so the churn model can compute the same
    features as of a past cutoff). At the latest day (no var as_of) it reads the
    per-customer tables kept up to date by customer; as of a fixed date, the daily rows
    and messages up to it. -#}
-- depends_on: {{ ref('int_customer_category_daily') }}
-- depends_on: {{ ref('int_email_messages') }}
-- depends_on: {{ ref('int_customer_favourite_category') }}
-- depends_on: {{ ref('int_customer_send_slots') }}
{{ user_preferences_as_of(as_of_date(), built=var('as_of', none) is none) }}
