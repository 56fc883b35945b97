{#- Each customer's favourite category, as the daily category interest stands now:
    the category with the highest time-decayed interest (views, add-to-carts and
    completed orders weighted by category_weights, halving every
    category_half_life_days; ties by name). Grain: customer_id, for customers with any
    category interest.

    The score is taken at the customer's own newest category day (`score_date`), not
    at an as-of date. Decay multiplies every category of a customer by the same factor
    as time passes, so the favourite does not change until the customer does something
    new, and user_preferences gets the score on its as-of date by one multiplication:
    score * 0.5 ^ (days from score_date to as_of / half-life). Only the customers with
    new category days are recomputed, not 47M daily rows at 100M events (see the macro
    incremental_customers; on the new-web-events path, the customers the daily table
    just added rows for). This holds for an as-of date on or after every day here: the
    latest-day default. user_preferences with var as_of computes from the daily rows.
    -#}
{{ config(
    materialized=keyed_incremental(),
    unique_key='customer_id',
    incremental_strategy='delete+insert',
    on_schema_change='fail',
    post_hook="{{ delete_tombstones('score_date') }}",
) }}

-- depends_on: {{ ref('base_web__events') }}
-- depends_on: {{ ref('int_anonymous_ids_stitched') }}
-- depends_on: {{ ref('int_events_stitched') }}
-- depends_on: {{ ref('base_esp__email_events') }}
-- depends_on: {{ ref('base_shop__orders') }}
-- depends_on: {{ ref('int_anonymous_events_stitched') }}  -- only_new_web_events

{%- set full_recompute = customers_need_full_recompute() %}
{%- set new_web_only = only_new_web_events(full_recompute) %}

with
{%- if new_web_only %}
-- only new web events: the customers whose daily category rows this run added to
touched as (
    select distinct customer_id
    from {{ ref('int_customer_category_daily') }}
    where _built_at > {{ customer_watermark() }}
),
{%- else %}
{{ touched_customers_cte(full_recompute) }},
{%- endif %}

categories as (
    select
        input_rows.*,
        max(input_rows.activity_date) over (partition by input_rows.customer_id)
            as score_date
    from {{ ref('int_customer_category_daily') }} as input_rows
    {{ touched_join(full_recompute, 'input_rows') }}
),

{{ favourite_category_ctes('categories', 'score_date', keep=['score_date']) }},

final as (
    select
        customer_id,
        favourite_category,
        category_score,
        score_date,
        {{ dbt.current_timestamp() }} as _built_at
    from favourite
    {%- if not new_web_only %}
    {{ touched_tombstones([['favourite_category', dbt.type_string()],
                           ['category_score', 'double'], ['score_date', 'date'],
                           ['_built_at', 'timestamp']]) }}
    {%- endif %}
)

select * from final
