{{ config(
    materialized=keyed_incremental(),
    unique_key=['_source_file', '_source_row'],
    incremental_strategy='delete+insert',
    on_schema_change='fail',
    post_hook="{{ delete_stale_rows(source('web', 'events')) }}",
) }}

{#- Every landed tracking event, typed, checked and classified (see classify_rows).
    Events are immutable: a repeated event_id is a duplicate (same content) or a
    conflict (different content), never a new version. -#}
with source_all as {{ inline_cte() }} (
    select
        event_id as raw_event_id,
        customer_id as raw_customer_id,
        anonymous_id as raw_anonymous_id,
        event_type as raw_event_type,
        event_at as raw_event_at,
        product_id as raw_product_id,
        category as raw_category,
        session_id as raw_session_id,
        _source_file,
        _source_row,
        _extra_fields,
        _landed_at
    from {{ source('web', 'events') }}
),

{{ incremental_rows('source_all', 'raw_event_id', 'raw_customer_id', 'event_id',
                    source('web', 'events'), 'event_id') }},

customers as (
    select distinct customer_id as known_customer_id from {{ ref('base_crm__customers') }}
    where _row_status = 'staged'
),

{{ flag_repeat_candidates('source', 'raw_event_id') }},

typed as {{ inline_cte() }} (
    select
        {{ clean_text('raw_event_id') }} as event_id,
        {{ clean_text('raw_customer_id') }} as customer_id,
        {{ clean_text('raw_anonymous_id') }} as anonymous_id,
        {{ clean_text('raw_session_id') }} as session_id,
        {{ clean_text('raw_product_id') }} as product_id,
        lower({{ clean_text('raw_event_type') }}) as event_type,
        lower({{ clean_text('raw_category') }}) as category,
        {{ parse_timestamp_utc('raw_event_at') }} as event_at,
        flagged.*
    from flagged
),

validated as {{ inline_cte() }} (
    select
        typed.*,
        case
            when _extra_fields is not null then 'malformed_row'
            when event_id is null or event_type is null or {{ clean_text('raw_event_at') }} is null
                then 'missing_required_field'
            when customer_id is null and anonymous_id is null then 'missing_identity'
            when event_at is null then 'unparseable_timestamp'
            when event_at > {{ dbt.dateadd('hour', var('future_tolerance_hours'), '_landed_at') }}
                then 'future_timestamp'
            when event_type not in (
                {%- for t in var('web_event_types') %}'{{ t }}'{% if not loop.last %}, {% endif %}{% endfor -%}
            ) then 'unknown_event_type'
            when customer_id is not null
                and {{ crm_is_landed() }}
                and known_customer_id is null
                then 'unknown_customer_id'
        end as _reason_code,
        {{ row_hash(['raw_event_id', 'raw_customer_id', 'raw_anonymous_id', 'raw_event_type',
                     'raw_event_at', 'raw_product_id', 'raw_category',
                     'raw_session_id']) }} as _row_hash
    from typed
    -- a join, not `not in (subquery)` inside the case: Spark plans that as a nested
    -- loop over every row and customer (minutes at 1M events); DuckDB is fine either way
    left join customers on typed.customer_id = customers.known_customer_id
),

{{ classify_rows('validated', key='event_id', version_key="''", version_order='_landed_at desc') }},

final as (
    select
        event_id,
        customer_id,
        anonymous_id,
        session_id,
        product_id,
        event_type,
        category,
        event_at,
        _row_status,
        _final_reason_code as _reason_code,
        case when _row_status = 'quarantined' then
            {{ raw_record(['event_id', 'customer_id', 'anonymous_id', 'event_type', 'event_at',
                           'product_id', 'category', 'session_id'], prefix='raw_') }}
        end as _raw_record,
        _source_file,
        _source_row,
        _landed_at,
        {{ dbt.current_timestamp() }} as _staged_at
    from classified
)

select * from final
