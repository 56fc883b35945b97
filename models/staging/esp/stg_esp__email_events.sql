with base as (
    select * from {{ ref('base_esp__email_events') }}
),

final as (
    select
        email_event_id,
        message_id,
        campaign_id,
        customer_id,
        email_event_type,
        link_url,
        user_agent,
        bounce_type,
        event_at,
        _source_file,
        _landed_at,
        _staged_at
    from base
    where _row_status = 'staged'
)

select * from final
