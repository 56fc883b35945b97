{#- Everything a customer did, one row per customer and UTC day. Every count sits on
    the day its event happened (an open on the day of the open, not of the send; a
    refund on the day of the refund; stitched anonymous browsing on the day the customer
    was identified), so a feature computed as of a date from the rows up to that date
    cannot see the future.
    Built from the large event tables; every as-of feature reads this instead.
    Incremental by customer: a run recomputes the customers touched since the last one
    (see the macro incremental_customers); when all that is new is web events, only
    the days they fall on are recounted (see only_new_web_events). -#}
{{ config(
    materialized=keyed_incremental(),
    unique_key=['customer_id', 'activity_date'],
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

{%- set web_measures = {
    'sessions': 'cast(case when session_id is not null then 1 else 0 end as bigint)',
    'page_views': 'cast(page_views as bigint)',
    'product_views': 'cast(product_views as bigint)',
    'add_to_carts': 'cast(add_to_carts as bigint)',
    'checkouts_started': 'cast(checkouts_started as bigint)',
    'last_visit_at': 'last_visit_at',
    'last_add_to_cart_at': 'last_add_to_cart_at'} %}

{%- if new_web_only %}

{%- set first_day = first_new_web_day() %}

-- the new days and every event on them
with {{ new_web_day_events_ctes(first_day) }},
{%- else %}

with {{ touched_customers_cte(full_recompute) }},

orders as (
    select input_rows.* from {{ ref('stg_shop__orders') }} as input_rows
    {{ touched_join(full_recompute, 'input_rows') }}
),

-- every message: read by the first-day rows and by the six later-day ones below. When
-- every customer is recomputed, each of those reads the table (a column-pruned scan with
-- its filter, a few seconds each) instead of DuckDB buffering all 50M messages with all
-- their columns once (100M events, operator CPU of the model: 432 -> 376 s); the
-- touched customers' few messages are buffered as before.
messages as {{ inline_cte() if not is_incremental() or full_recompute }} (
    select input_rows.* from {{ ref('int_email_messages') }} as input_rows
    {{ touched_join(full_recompute, 'input_rows') }}
),

email_events as (
    select input_rows.* from {{ ref('stg_esp__email_events') }} as input_rows
    {{ touched_join(full_recompute, 'input_rows') }}
),

web_events as (
    select input_rows.* from {{ ref('int_events_stitched') }} as input_rows
    {{ touched_join(full_recompute, 'input_rows') }}
    where input_rows.customer_id is not null
),
{%- endif %}

{#- Every source below gives rows of (customer_id, activity_date, measure columns), all
    the columns in the same order, zero or null where it has nothing to say. On a full
    or touched-customers run each source is added up by customer and day on its own and
    the four are joined on the day (below); after new web events only, the rebuilt days
    are one aggregation of their rows. (A union of all customer days joined to the four
    ran out of memory at 5GB at 100M events; the full outer joins of the narrow per-source
    days do not: the largest side joined is the 21M web days.) Counts are BIGINT (a sum
    of counts would be HUGEINT, twice the bytes). -#}
{%- set counts = activity_count_columns() %}
{%- set revenue = ['order_revenue', 'refund_revenue'] %}
{%- set latest = activity_latest_columns() %}

{%- set message_counts = [
    ('sent_at', 'messages_sent'),
    ('delivered_at', 'messages_delivered'),
    ('bounced_at', 'messages_bounced'),
    ('first_opened_at', 'messages_opened'),
    ('first_machine_opened_at', 'messages_machine_opened'),
    ('first_clicked_at', 'messages_clicked'),
] %}

{#- what happened to a message on the day of its first event -#}
{%- set message_first_day = {} %}
{%- for column, name in message_counts %}
{%- set on_first_day = 'cast(' ~ column ~ ' as date) = cast(first_event_at as date)' %}
{%- do message_first_day.update({name: 'cast(case when ' ~ on_first_day ~ ' then 1 else 0 end as bigint)'}) %}
{%- if name == 'messages_opened' %}{% do message_first_day.update({'last_open_at': 'case when ' ~ on_first_day ~ ' then ' ~ column ~ ' end'}) %}{% endif %}
{%- if name == 'messages_clicked' %}{% do message_first_day.update({'last_click_at': 'case when ' ~ on_first_day ~ ' then ' ~ column ~ ' end'}) %}{% endif %}
{%- endfor %}

{%- if not new_web_only %}

-- the messages with something on a later day than their first event (about one in
-- five at 100M events), for the later-day rows below. Measured at 100M: the model
-- 196 -> 167 s. (One row per message and kind of event from a cross join instead made
-- DuckDB lose the statistics that let it sum into 64 bits: 189 s, 10 GB more spilled;
-- DuckDB reads this CTE once per later-day row below, and making it `materialized`
-- instead was slower too: 195 s against 165 s.)
later_messages as (
    select * from messages
    where greatest(
        {%- for column, _ in message_counts %}
        cast({{ column }} as date){{ ',' if not loop.last }}
        {%- endfor %}
    ) > cast(first_event_at as date)
),
{%- endif %}

-- per web session and day first (a plain aggregation, unlike count(distinct))
web_sessions as (
    select
        customer_id,
        cast(known_at as date) as activity_date,
        session_id,
        {{ count_if("event_type = 'page_view'") }} as page_views,
        {{ count_if("event_type = 'product_view'") }} as product_views,
        {{ count_if("event_type = 'add_to_cart'") }} as add_to_carts,
        {{ count_if("event_type = 'checkout_started'") }} as checkouts_started,
        max(event_at) as last_visit_at,
        max(case when event_type = 'add_to_cart' then event_at end) as last_add_to_cart_at
    from web_events
    group by 1, 2, 3
),

{%- if new_web_only %}

day_rows as (
    -- those days as built (if they were), without their web activity ...
    select
        built.customer_id,
        built.activity_date,
        {%- for c in counts + latest %}
        {%- if c in web_measures %}
        {{ '0' if c in counts else 'cast(null as timestamp)' }} as {{ c }}
        {%- else %}
        built.{{ c }}
        {%- endif %}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ this }} as built
    inner join new_web_days
        on built.customer_id = new_web_days.customer_id
        and built.activity_date = new_web_days.activity_date
    where built.activity_date >= {{ first_day }}
    union all
    -- ... and the web activity of the new days, recounted from every event on them
    select {{ activity_day_row('customer_id', 'activity_date', web_measures) }}
    from web_sessions
),

final as (
    select
        customer_id,
        {%- for c in counts %}
        {%- if c in revenue %}
        sum({{ c }}) as {{ c }},
        {%- else %}
        cast(sum({{ c }}) as bigint) as {{ c }},
        {%- endif %}
        {%- endfor %}
        activity_date,
        {%- for c in latest %}
        max({{ c }}) as {{ c }},
        {%- endfor %}
        {{ dbt.current_timestamp() }} as _built_at
    from day_rows
    group by customer_id, activity_date
)
{%- else %}

{#- Each source is added up by customer and day on its own, over its own measures only,
    and the four are joined on the day (full outer joins). One aggregation of the union
    of all sources' rows instead kept 25 sums and maxima for each of 81M customer days
    and spilled 18 GB at 100M events; the four narrow ones spill 9 GB and the model takes
    317 s of operator CPU instead of 376 s (204 s instead of 228 s alone). -#}
order_rows as (
    -- a purchase counts on its order day (completed, or refunded later)
    select
        {{ activity_day_row('customer_id', 'ordered_at', {
            'orders': 'cast(1 as bigint)',
            'order_revenue': 'cast(revenue as decimal(38, 2))',
            'coupon_orders': 'cast(case when has_coupon then 1 else 0 end as bigint)',
            'last_order_at': 'ordered_at'}) }}
    from orders
    where order_status in ('completed', 'refunded')
    union all
    -- a refund is its own event on the day it was refunded (updated_at of the refunded
    -- version), so as of any date the net is right
    select
        {{ activity_day_row('customer_id', 'coalesce(updated_at, ordered_at)', {
            'refunds': 'cast(1 as bigint)',
            'refund_revenue': 'cast(revenue as decimal(38, 2))'}) }}
    from orders
    where order_status = 'refunded'
    union all
    select
        {{ activity_day_row('customer_id', 'ordered_at', {'cancelled_orders': 'cast(1 as bigint)'}) }}
    from orders
    where order_status = 'cancelled'
),

message_rows as (
    -- a message counts on the day of each thing that happened to it: one row on the
    -- day of its first event for all that happened that day (most messages are sent,
    -- delivered and opened on one day) ...
    select
        {{ activity_day_row('customer_id', 'first_event_at', message_first_day) }}
    from messages
    where {% for column, _ in message_counts -%}
        {{ 'or ' if not loop.first }}cast({{ column }} as date) = cast(first_event_at as date)
        {% endfor %}
    {%- for column, name in message_counts %}
    union all
    -- ... and a row for each thing on a later day
    select
        {{ activity_day_row('customer_id', column, dict([(name, 'cast(1 as bigint)')]
            + ([('last_open_at', column)] if name == 'messages_opened' else [])
            + ([('last_click_at', column)] if name == 'messages_clicked' else [])) ) }}
    from later_messages
    where cast({{ column }} as date) > cast(first_event_at as date)
    {%- endfor %}
),

email_event_rows as (
    select
        {{ activity_day_row('customer_id', 'event_at', {
            'unsubscribes': "cast(case when email_event_type = 'unsubscribe' then 1 else 0 end as bigint)",
            'spam_complaints': "cast(case when email_event_type = 'spam_complaint' then 1 else 0 end as bigint)",
            'hard_bounces': "cast(case when email_event_type = 'bounce' and bounce_type = 'hard' then 1 else 0 end as bigint)"}) }}
    from email_events
    where email_event_type in ('unsubscribe', 'spam_complaint', 'bounce')
),

{%- set sources = [
    ('message_days', 'message_rows', ['messages_sent', 'messages_delivered', 'messages_bounced',
                                      'messages_opened', 'messages_machine_opened',
                                      'messages_clicked', 'last_open_at', 'last_click_at']),
    ('web_days', 'web_rows', ['sessions', 'page_views', 'product_views', 'add_to_carts',
                              'checkouts_started', 'last_visit_at', 'last_add_to_cart_at']),
    ('order_days', 'order_rows', ['orders', 'order_revenue', 'refunds', 'refund_revenue',
                                  'cancelled_orders', 'coupon_orders', 'last_order_at']),
    ('email_event_days', 'email_event_rows', ['unsubscribes', 'spam_complaints',
                                              'hard_bounces']),
] %}

web_rows as (
    select {{ activity_day_row('customer_id', 'activity_date', web_measures) }}
    from web_sessions
),
{% for days, rows, measures in sources %}
{{ days }} as (
    select
        customer_id,
        activity_date,
        {%- for c in measures %}
        {%- if c in latest %}
        max({{ c }}) as {{ c }}
        {%- elif c in revenue %}
        sum({{ c }}) as {{ c }}
        {%- else %}
        cast(sum({{ c }}) as bigint) as {{ c }}
        {%- endif %}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ rows }}
    group by customer_id, activity_date
),
{% endfor %}

{#- the day's customer and date: from the first source that has the day -#}

final as (
    select
        {{ coalesce_columns(sources | map(attribute=0) | list, 'customer_id') }} as customer_id,
        {%- for c in counts %}
        {%- for days, _, measures in sources if c in measures %}
        coalesce({{ days }}.{{ c }}, {{ 'cast(0 as decimal(38, 2))' if c in revenue else 'cast(0 as bigint)' }}) as {{ c }},
        {%- endfor %}
        {%- endfor %}
        {{ coalesce_columns(sources | map(attribute=0) | list, 'activity_date') }} as activity_date,
        {%- for c in latest %}
        {%- for days, _, measures in sources if c in measures %}
        {{ days }}.{{ c }},
        {%- endfor %}
        {%- endfor %}
        {{ dbt.current_timestamp() }} as _built_at
    {%- for days, _, _ in sources %}
    {%- if loop.first %}
    from {{ days }}
    {%- else %}
    {%- set earlier = sources[:loop.index0] | map(attribute=0) | list %}
    full outer join {{ days }}
        on {{ days }}.customer_id = {{ coalesce_columns(earlier, 'customer_id') }}
        and {{ days }}.activity_date = {{ coalesce_columns(earlier, 'activity_date') }}
    {%- endif %}
    {%- endfor %}
    {%- if is_incremental() %}
    union all
    -- tombstones (see incremental_customers): a touched customer without rows still
    -- replaces its old ones
    select
        customer_id,
        {%- for c in counts %}
        {{ 'cast(0 as decimal(38, 2))' if c in revenue else 'cast(0 as bigint)' }} as {{ c }},
        {%- endfor %}
        cast(null as date) as activity_date,
        {%- for c in latest %}
        cast(null as timestamp) as {{ c }},
        {%- endfor %}
        {{ dbt.current_timestamp() }} as _built_at
    from (select distinct customer_id from touched) as touched_customers
    {%- endif %}
)
{%- endif %}

select * from final
{{ cluster_rows_by('customer_id') }}
