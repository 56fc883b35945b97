{#- One row per email message (send): what happened to it and when. Human opens and
    machine opens (privacy proxies, scanners: user agents in the machine_user_agents
    seed) are kept apart; a click is always human. Incremental by message: a run
    recomputes the messages with events staged since the last one (see the macro
    incremental_customers). -#}
{{ config(
    materialized=keyed_incremental(),
    unique_key='message_id',
    incremental_strategy='delete+insert',
    on_schema_change='fail',
    post_hook="{{ delete_tombstones('first_event_at') }}",
) }}

-- depends_on: {{ ref('base_esp__email_events') }}

{%- set full_recompute = customers_need_full_recompute(['base_esp__email_events']) %}

with {{ touched_keys_cte('message_id', full_recompute,
                        changed_keys('base_esp__email_events', 'message_id')) }},

-- read twice (the agents, the messages): inlined, not buffered; 100M events: 135 s
-- -> 50 s, the buffered CTE scanned slower than the table
email_events as {{ inline_cte() }} (
    select input_rows.* from {{ ref('stg_esp__email_events') }} as input_rows
    {{ touched_join(full_recompute, 'input_rows', 'message_id', 'message_id') }}
    where input_rows.message_id is not null
),

-- the opens' user agents that match a machine pattern: matched once per distinct agent
-- (few), then joined back (a correlated EXISTS with LIKE trips Spark's optimizer)
machine_agents as (
    select distinct open_agents.user_agent
    from (
        select distinct user_agent from email_events
        where email_event_type = 'open' and user_agent is not null
    ) as open_agents
    inner join {{ ref('machine_user_agents') }} as patterns
        on open_agents.user_agent like patterns.pattern
),

classified as (
    select
        email_events.*,
        email_event_type = 'open'
        and machine_agents.user_agent is not null as is_machine_open
    from email_events
    left join machine_agents
        on email_events.user_agent = machine_agents.user_agent
),

final as (
    select
        message_id,
        min(customer_id) as customer_id,
        min(campaign_id) as campaign_id,
        min(case when email_event_type = 'sent' then event_at end) as sent_at,
        min(case when email_event_type = 'delivered' then event_at end) as delivered_at,
        min(case when email_event_type = 'bounce' then event_at end) as bounced_at,
        {{ bool_or("email_event_type = 'bounce' and bounce_type = 'hard'") }} as is_hard_bounce,
        min(case when email_event_type = 'open' and not is_machine_open then event_at end)
            as first_opened_at,
        min(case when is_machine_open then event_at end) as first_machine_opened_at,
        min(case when email_event_type = 'click' then event_at end) as first_clicked_at,
        min(case when email_event_type = 'spam_complaint' then event_at end) as complained_at,
        min(event_at) as first_event_at,
        {{ dbt.current_timestamp() }} as _built_at
    from classified
    group by message_id
    {%- if is_incremental() %}
    union all
    -- tombstones: a touched message left without events replaces its old row, then
    -- the post-hook deletes it
    select
        message_id,
        {%- for _ in range(10) %}
        null,
        {%- endfor %}
        cast(null as timestamp),
        {{ dbt.current_timestamp() }}
    from touched
    {%- endif %}
)

select * from final
