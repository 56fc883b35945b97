{{ config(
    materialized=keyed_incremental(),
    unique_key=['_source_file', '_source_row'],
    incremental_strategy='delete+insert',
    on_schema_change='fail',
    post_hook="{{ delete_stale_rows(source('shop', 'orders')) }}",
) }}

{#- Every landed order row, typed, checked and classified (see classify_rows).
    stg_shop__orders reads the staged rows; quarantined_rows reads the rejects. -#}
with source_all as {{ inline_cte() }} (
    select
        order_id as raw_order_id,
        customer_id as raw_customer_id,
        ordered_at as raw_ordered_at,
        status as raw_status,
        revenue as raw_revenue,
        discount as raw_discount,
        coupon_code as raw_coupon_code,
        item_count as raw_item_count,
        category as raw_category,
        currency as raw_currency,
        updated_at as raw_updated_at,
        _source_file,
        _source_row,
        _extra_fields,
        _landed_at
    from {{ source('shop', 'orders') }}
),

{{ incremental_rows('source_all', 'raw_order_id', 'raw_customer_id', 'order_id',
                    source('shop', 'orders'), 'order_id') }},

customers as (
    select distinct customer_id as known_customer_id from {{ ref('base_crm__customers') }}
    where _row_status = 'staged'
),

{{ flag_repeat_candidates('source', 'raw_order_id') }},

typed as {{ inline_cte() }} (
    select
        {{ clean_text('raw_order_id') }} as order_id,
        {{ clean_text('raw_customer_id') }} as customer_id,
        coalesce(lower({{ clean_text('raw_status') }}), 'completed') as order_status,
        {{ clean_text('raw_coupon_code') }} as coupon_code,
        lower({{ clean_text('raw_category') }}) as category,
        upper({{ clean_text('raw_currency') }}) as currency_code,
        {{ parse_decimal('raw_revenue') }} as revenue,
        coalesce({{ parse_decimal('raw_discount') }}, 0) as discount,
        {{ parse_integer('raw_item_count') }} as item_count,
        {{ parse_timestamp_utc('raw_ordered_at') }} as ordered_at,
        {{ parse_timestamp_utc('raw_updated_at') }} as updated_at,
        flagged.*
    from flagged
),

validated as {{ inline_cte() }} (
    select
        typed.*,
        case
            when _extra_fields is not null then 'malformed_row'
            when order_id is null
                or {{ clean_text('raw_ordered_at') }} is null
                or {{ clean_text('raw_revenue') }} is null
                then 'missing_required_field'
            when customer_id is null then 'missing_customer_id'
            when {{ is_unparseable('raw_ordered_at', 'ordered_at') }}
                or {{ is_unparseable('raw_updated_at', 'updated_at') }}
                then 'unparseable_timestamp'
            when ordered_at > {{ dbt.dateadd('hour', var('future_tolerance_hours'), '_landed_at') }}
                then 'future_timestamp'
            when revenue is null
                or {{ is_unparseable('raw_discount', parse_decimal('raw_discount')) }}
                or {{ is_unparseable('raw_item_count', 'item_count') }}
                then 'non_numeric_amount'
            when revenue < 0 or discount < 0 or item_count < 0 then 'negative_amount'
            when order_status not in ('completed', 'cancelled', 'refunded') then 'unknown_status'
            when order_status = 'completed' and revenue = 0 then 'non_positive_amount'
            when {{ crm_is_landed() }}
                and known_customer_id is null
                then 'unknown_customer_id'
        end as _reason_code,
        {{ row_hash(['raw_order_id', 'raw_customer_id', 'raw_ordered_at', 'raw_status',
                     'raw_revenue', 'raw_discount', 'raw_coupon_code', 'raw_item_count',
                     'raw_category', 'raw_currency', 'raw_updated_at']) }} as _row_hash
    from typed
    -- a join, not `not in (subquery)` inside the case: Spark plans that as a nested
    -- loop over every row and customer (minutes at 1M events); DuckDB is fine either way
    left join customers on typed.customer_id = customers.known_customer_id
),

{{ classify_rows(
    'validated',
    key='order_id',
    version_key="coalesce(cast(updated_at as string), _source_file)",
    version_order='updated_at desc nulls last'
) }},

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
        ordered_at,
        updated_at,
        _row_status,
        _final_reason_code as _reason_code,
        case when _row_status = 'quarantined' then
            {{ raw_record(['order_id', 'customer_id', 'ordered_at', 'status', 'revenue',
                           'discount', 'coupon_code', 'item_count', 'category', 'currency',
                           'updated_at'], prefix='raw_') }}
        end as _raw_record,
        _source_file,
        _source_row,
        _landed_at,
        {{ dbt.current_timestamp() }} as _staged_at
    from classified
)

select * from final
