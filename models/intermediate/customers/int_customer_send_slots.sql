{#- When each customer reads email: per customer, UTC hour and weekday (0 = Sunday) of
    their first opens and clicks (a click counts twice: `score`), over every message so
    far. user_preferences picks each customer's best hour and weekday, and the whole
    base's, from these rows (7M at 100M events) instead of grouping the interactions of
    50M messages on every run. Grain: customer_id + send_hour + send_weekday.

    Incremental by customer (see the macro incremental_customers): the customers whose
    email messages may have changed are recomputed. A run that brings only new web
    events changes no message and writes nothing. Every interaction counts, so this
    holds for an as-of date on or after the newest one: the latest-day default.
    user_preferences with var as_of computes from the messages. -#}
{{ config(
    materialized=keyed_incremental(),
    unique_key='customer_id',
    incremental_strategy='delete+insert',
    on_schema_change='fail',
    post_hook="{{ delete_tombstones('send_hour') }}",
) }}

-- depends_on: {{ ref('base_web__events') }}
-- depends_on: {{ ref('int_anonymous_ids_stitched') }}
-- depends_on: {{ ref('int_events_stitched') }}
-- depends_on: {{ ref('base_esp__email_events') }}
-- depends_on: {{ ref('base_shop__orders') }}
-- depends_on: {{ ref('int_anonymous_events_stitched') }}  -- only_new_web_events

{%- set full_recompute = customers_need_full_recompute() %}
{%- set new_web_only = only_new_web_events(full_recompute) %}

with {{ touched_customers_cte(full_recompute) }},

messages as (
    select input_rows.customer_id, input_rows.first_opened_at, input_rows.first_clicked_at
    from {{ ref('int_email_messages') }} as input_rows
    {%- if new_web_only %}
    where 1 = 0  -- no message changed: nothing to redo
    {%- else %}
    {{ touched_join(full_recompute, 'input_rows') }}
    where input_rows.customer_id is not null
    {%- endif %}
),

{{ send_slot_ctes('messages') }},

final as (
    select
        customer_id,
        send_hour,
        send_weekday,
        score,
        interactions,
        {{ dbt.current_timestamp() }} as _built_at
    from by_slot
    {%- if not new_web_only %}
    {{ touched_tombstones([['send_hour', 'integer'], ['send_weekday', 'integer'],
                           ['score', 'bigint'], ['interactions', 'bigint'],
                           ['_built_at', 'timestamp']]) }}
    {%- endif %}
)

select * from final
{{ cluster_rows_by('customer_id') }}
