{#- One row per email message (send): what happened to it and when. Human opens and
    machine opens (privacy proxies, scanners: user agents in the machine_user_agents
    seed) are kept apart; a click is always human. -#}
with email_events as (
    select * from {{ ref('stg_esp__email_events') }}
    where message_id is not null
),

machine_agents as (
    select pattern from {{ ref('machine_user_agents') }}
),

classified as (
    select
        email_events.*,
        email_event_type = 'open'
        and exists (
            select 1 from machine_agents
            where email_events.user_agent like machine_agents.pattern
        ) as is_machine_open
    from email_events
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
        min(event_at) as first_event_at
    from classified
    group by message_id
)

select * from final
