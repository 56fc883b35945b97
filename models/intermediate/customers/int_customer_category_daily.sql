{#- Interest in each product category, one row per customer, UTC day and category:
    product views, add-to-carts and completed orders. Incremental by customer (see the
    macro incremental_customers); when all that is new is web events, only the days
    they fall on are recounted (see only_new_web_events). -#}
{{ config(
    materialized=keyed_incremental(),
    unique_key=['customer_id', 'activity_date', 'category'],
    incremental_strategy='delete+insert',
    on_schema_change='fail',
    post_hook="{{ delete_replaced_days() }}",
) }}

-- depends_on: {{ ref('base_web__events') }}
-- depends_on: {{ ref('int_anonymous_ids_stitched') }}
-- depends_on: {{ ref('base_esp__email_events') }}
-- depends_on: {{ ref('base_shop__orders') }}
-- depends_on: {{ ref('int_anonymous_events_stitched') }}  -- only_new_web_events

{%- set full_recompute = customers_need_full_recompute() %}
{#- the usual next run: only new web events, so only the days they fall on change -#}
{%- set new_web_only = only_new_web_events(full_recompute) %}

{%- if new_web_only %}

{%- set first_day = first_new_web_day() %}

-- the new days and every event on them with a category
with {{ new_web_day_events_ctes(first_day, 'stitched.category is not null') }},
{%- else %}

with {{ touched_customers_cte(full_recompute) }},

web_events as (
    select input_rows.* from {{ ref('int_events_stitched') }} as input_rows
    {{ touched_join(full_recompute, 'input_rows') }}
    where input_rows.customer_id is not null and input_rows.category is not null
),

orders as (
    select input_rows.* from {{ ref('stg_shop__orders') }} as input_rows
    {{ touched_join(full_recompute, 'input_rows') }}
    where input_rows.category is not null
        and input_rows.order_status in ('completed', 'refunded')
),
{%- endif %}

signals as (
    select
        customer_id,
        cast(known_at as date) as activity_date,
        category,
        case when event_type = 'product_view' then 1 else 0 end as product_views,
        case when event_type = 'add_to_cart' then 1 else 0 end as add_to_carts,
        0 as orders
    from web_events
    where event_type in ('product_view', 'add_to_cart')
    union all
    {%- if new_web_only %}
    -- those days' rows as built (if they were), their orders only: the web signals
    -- of those days are recounted above
    select
        built.customer_id,
        built.activity_date,
        built.category,
        0 as product_views,
        0 as add_to_carts,
        built.orders
    from {{ this }} as built
    inner join new_web_days
        on built.customer_id = new_web_days.customer_id
        and built.activity_date = new_web_days.activity_date
    where built.activity_date >= {{ first_day }}
    {%- else %}
    select
        customer_id,
        cast(ordered_at as date) as activity_date,
        category,
        0 as product_views,
        0 as add_to_carts,
        1 as orders
    from orders
    {%- endif %}
),

final as (
    select
        customer_id,
        category,
        sum(product_views) as product_views,
        sum(add_to_carts) as add_to_carts,
        sum(orders) as orders,
        activity_date,
        {{ dbt.current_timestamp() }} as _built_at
    from signals
    group by customer_id, activity_date, category
    {%- if is_incremental() and not new_web_only %}
    union all
    -- tombstones (see touched_tombstones): replace the rows of every touched customer
    select customer_id, cast(null as {{ dbt.type_string() }}), 0, 0, 0,
        cast(null as date), {{ dbt.current_timestamp() }}
    from touched
    {%- endif %}
)

select * from final
{{ cluster_rows_by('customer_id') }}
