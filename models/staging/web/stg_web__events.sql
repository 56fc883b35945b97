with base as (
    select * from {{ ref('base_web__events') }}
),

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
        _source_file,
        _landed_at,
        _staged_at
    from base
    where _row_status = 'staged'
)

select * from final
