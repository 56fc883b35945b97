{#- Every landed row that staging could not use, with why and its raw text.
    Grain: one row per rejected raw row (source, file, row). -#}
{%- set bases = [
    ('customers', 'base_crm__customers', 'customer_id'),
    ('events', 'base_web__events', 'event_id'),
    ('orders', 'base_shop__orders', 'order_id'),
    ('email_events', 'base_esp__email_events', 'email_event_id'),
] %}
with
{% for name, model, key in bases %}
{{ name }} as (
    select
        '{{ name }}' as source_name,
        _source_file as source_file,
        _source_row as source_row,
        {{ key }} as natural_key,
        _reason_code as reason_code,
        _raw_record as raw_record,
        _landed_at as landed_at
    from {{ ref(model) }}
    where _row_status = 'quarantined'
),
{% endfor %}

unioned as (
    {% for name, model, key in bases %}
    select * from {{ name }}
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

final as (
    select
        {{ dbt.concat(["source_name", "':'", "source_file", "':'",
                       dbt.cast("source_row", dbt.type_string())]) }} as quarantined_row_id,
        *
    from unioned
)

select * from final
