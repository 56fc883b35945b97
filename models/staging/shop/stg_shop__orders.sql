with base as (
    select * from {{ ref('base_shop__orders') }}
),

final as (
    select
        order_id,
        customer_id,
        order_status,
        coupon_code,
        category,
        currency_code,
        revenue,
        discount,
        item_count,
        coupon_code is not null as has_coupon,
        ordered_at,
        updated_at,
        _source_file,
        _landed_at,
        _staged_at
    from base
    where _row_status = 'staged'
)

select * from final
