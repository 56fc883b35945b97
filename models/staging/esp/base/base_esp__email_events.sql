{{ config(
    materialized=keyed_incremental(),
    unique_key=['_source_file', '_source_row'],
    incremental_strategy='delete+insert',
    on_schema_change='fail',
    post_hook="{{ delete_stale_rows(source('esp', 'email_events')) }}",
) }}

{#- Every landed email event, typed, checked and classified (see classify_rows).
    Email events are immutable, like web events. -#}
with source_all as {{ inline_cte() }} (
    select
        email_event_id as raw_email_event_id,
        message_id as raw_message_id,
        campaign_id as raw_campaign_id,
        customer_id as raw_customer_id,
        event_type as raw_event_type,
        event_at as raw_event_at,
        link_url as raw_link_url,
        user_agent as raw_user_agent,
        bounce_type as raw_bounce_type,
        _source_file,
        _source_row,
        _extra_fields,
        _landed_at
    from {{ source('esp', 'email_events') }}
),

{{ incremental_rows('source_all', 'raw_email_event_id', 'raw_customer_id', 'email_event_id',
                    source('esp', 'email_events'), 'email_event_id') }},

customers as (
    select distinct customer_id as known_customer_id from {{ ref('base_crm__customers') }}
    where _row_status = 'staged'
),

{{ flag_repeat_candidates('source', 'raw_email_event_id') }},

typed as {{ inline_cte() }} (
    select
        {{ clean_text('raw_email_event_id') }} as email_event_id,
        {{ clean_text('raw_message_id') }} as message_id,
        {{ clean_text('raw_campaign_id') }} as campaign_id,
        {{ clean_text('raw_customer_id') }} as customer_id,
        lower({{ clean_text('raw_event_type') }}) as email_event_type,
        {{ clean_text('raw_link_url') }} as link_url,
        {{ clean_text('raw_user_agent') }} as user_agent,
        lower({{ clean_text('raw_bounce_type') }}) as bounce_type,
        {{ parse_timestamp_utc('raw_event_at') }} as event_at,
        flagged.*
    from flagged
),

validated as {{ inline_cte() }} (
    select
        typed.*,
        case
            when _extra_fields is not null then 'malformed_row'
            when email_event_id is null or email_event_type is null
                or {{ clean_text('raw_event_at') }} is null
                then 'missing_required_field'
            when customer_id is null then 'missing_customer_id'
            when event_at is null then 'unparseable_timestamp'
            when event_at > {{ dbt.dateadd('hour', var('future_tolerance_hours'), '_landed_at') }}
                then 'future_timestamp'
            when email_event_type not in (
                {%- for t in var('email_event_types') %}'{{ t }}'{% if not loop.last %}, {% endif %}{% endfor -%}
            ) then 'unknown_event_type'
            when {{ crm_is_landed() }}
                and known_customer_id is null
                then 'unknown_customer_id'
        end as _reason_code,
        {{ row_hash(['raw_email_event_id', 'raw_message_id', 'raw_campaign_id',
                     'raw_customer_id', 'raw_event_type', 'raw_event_at', 'raw_link_url',
                     'raw_user_agent', 'raw_bounce_type']) }} as _row_hash
    from typed
    -- a join, not `not in (subquery)` inside the case: Spark plans that as a nested
    -- loop over every row and customer (minutes at 1M events); DuckDB is fine either way
    left join customers on typed.customer_id = customers.known_customer_id
),

{{ classify_rows(
    'validated', key='email_event_id', version_key="''", version_order='_landed_at desc'
) }},

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
        _row_status,
        _final_reason_code as _reason_code,
        case when _row_status = 'quarantined' then
            {{ raw_record(['email_event_id', 'message_id', 'campaign_id', 'customer_id',
                           'event_type', 'event_at', 'link_url', 'user_agent', 'bounce_type'],
                          prefix='raw_') }}
        end as _raw_record,
        _source_file,
        _source_row,
        _landed_at,
        {{ dbt.current_timestamp() }} as _staged_at
    from classified
)

select * from final
