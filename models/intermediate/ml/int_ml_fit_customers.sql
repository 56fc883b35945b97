{#- The customers the churn and value models learn from: at most var ml_max_fit_rows of
    them, the ones with the smallest md5(ml_random_state:customer_id). A deterministic,
    uniform sample, the same on every engine and run, so the point-in-time training
    examples (the costliest features: every feature at two past cutoffs) cost the same
    at 5M customers as at 200k. Below the cap it is every customer.
    Grain: one row per customer. -#}
with customers as (
    select customer_id from {{ ref('int_customers_unified') }}
),

ranked as (
    select
        customer_id,
        md5('{{ var("ml_random_state") }}:' || customer_id) as sample_key
    from customers
),

final as (
    select customer_id
    from ranked
    order by sample_key, customer_id
    limit {{ var('ml_max_fit_rows') | int }}
)

select * from final
