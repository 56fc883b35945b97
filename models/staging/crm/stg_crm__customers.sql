with base as (
    select * from {{ ref('base_crm__customers') }}
),

final as (
    select
        customer_id,
        email,
        first_name,
        country,
        city,
        gender,
        loyalty_tier,
        coalesce(has_email_consent, false) as has_email_consent,
        birth_date,
        signed_up_at,
        email_consent_at,
        unsubscribed_at,
        updated_at,
        _source_file,
        _landed_at
    from base
    where _row_status = 'staged'
)

select * from final
