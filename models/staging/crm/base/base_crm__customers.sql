{{ config(materialized='table') }}

{#- Every landed customer row, typed, checked and classified (see classify_rows). -#}
with source as {{ inline_cte() }} (
    select
        customer_id as raw_customer_id,
        email as raw_email,
        first_name as raw_first_name,
        signup_at as raw_signup_at,
        country as raw_country,
        city as raw_city,
        birth_date as raw_birth_date,
        gender as raw_gender,
        loyalty_tier as raw_loyalty_tier,
        email_consent as raw_email_consent,
        email_consent_at as raw_email_consent_at,
        unsubscribed_at as raw_unsubscribed_at,
        updated_at as raw_updated_at,
        _source_file,
        _source_row,
        _extra_fields,
        _landed_at
    from {{ source('crm', 'customers') }}
),

{{ flag_repeat_candidates('source', 'raw_customer_id') }},

typed as {{ inline_cte() }} (
    select
        {{ clean_text('raw_customer_id') }} as customer_id,
        lower({{ clean_text('raw_email') }}) as email,
        {{ clean_text('raw_first_name') }} as first_name,
        {{ clean_text('raw_country') }} as country,
        {{ clean_text('raw_city') }} as city,
        lower({{ clean_text('raw_gender') }}) as gender,
        lower({{ clean_text('raw_loyalty_tier') }}) as loyalty_tier,
        {{ parse_boolean('raw_email_consent') }} as has_email_consent,
        {{ parse_date('raw_birth_date') }} as birth_date,
        {{ parse_timestamp_utc('raw_signup_at') }} as signed_up_at,
        {{ parse_timestamp_utc('raw_email_consent_at') }} as email_consent_at,
        {{ parse_timestamp_utc('raw_unsubscribed_at') }} as unsubscribed_at,
        {{ parse_timestamp_utc('raw_updated_at') }} as updated_at,
        flagged.*
    from flagged
),

validated as {{ inline_cte() }} (
    select
        typed.*,
        case
            when _extra_fields is not null then 'malformed_row'
            when customer_id is null then 'missing_required_field'
            when {{ is_unparseable('raw_signup_at', 'signed_up_at') }}
                or {{ is_unparseable('raw_email_consent_at', 'email_consent_at') }}
                or {{ is_unparseable('raw_unsubscribed_at', 'unsubscribed_at') }}
                or {{ is_unparseable('raw_updated_at', 'updated_at') }}
                or {{ is_unparseable('raw_birth_date', 'birth_date') }}
                then 'unparseable_timestamp'
            when signed_up_at > {{ dbt.dateadd('hour', var('future_tolerance_hours'), '_landed_at') }}
                then 'future_timestamp'
            when {{ is_unparseable('raw_email_consent', 'has_email_consent') }}
                then 'invalid_boolean'
        end as _reason_code,
        {{ row_hash(['raw_customer_id', 'raw_email', 'raw_first_name', 'raw_signup_at',
                     'raw_country', 'raw_city', 'raw_birth_date', 'raw_gender',
                     'raw_loyalty_tier', 'raw_email_consent', 'raw_email_consent_at',
                     'raw_unsubscribed_at', 'raw_updated_at']) }} as _row_hash
    from typed
),

{{ classify_rows(
    'validated',
    key='customer_id',
    version_key="coalesce(cast(updated_at as string), _source_file)",
    version_order='updated_at desc nulls last'
) }},

final as (
    select
        customer_id,
        email,
        first_name,
        country,
        city,
        gender,
        loyalty_tier,
        has_email_consent,
        birth_date,
        signed_up_at,
        email_consent_at,
        unsubscribed_at,
        updated_at,
        _row_status,
        _final_reason_code as _reason_code,
        case when _row_status = 'quarantined' then
            {{ raw_record(['customer_id', 'email', 'first_name', 'signup_at', 'country',
                           'city', 'birth_date', 'gender', 'loyalty_tier', 'email_consent',
                           'email_consent_at', 'unsubscribed_at', 'updated_at'],
                          prefix='raw_') }}
        end as _raw_record,
        _source_file,
        _source_row,
        _landed_at
    from classified
)

select * from final
