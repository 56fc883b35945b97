{#- Every landed row that staging could not use, with why and its raw text.
    Grain: one row per rejected raw row (source, file, row).
    Incremental (macros/quality_incremental.sql): the rows of the base rows staged since
    the last build are replaced; the CRM's every run. -#}
{{ config(
    materialized=keyed_incremental(),
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{{ delete_restaged_quarantine() }}",
) }}

{%- set full_recompute = customers_need_full_recompute() %}
{%- set bases = [('customers', 'base_crm__customers', 'customer_id', none, none)]
    + quality_bases() %}
with
{% for name, model, key, type_column, time_column in bases %}
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
        {%- if name != 'customers' %}
        and {{ staged_since_last_build(full_recompute) }}
        {%- endif %}
),
{% endfor %}

unioned as (
    {% for name, model, key, type_column, time_column in bases %}
    select * from {{ name }}
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

final as (
    select
        {{ quarantined_row_id('source_name', 'source_file', 'source_row') }}
            as quarantined_row_id,
        *,
        {{ dbt.current_timestamp() }} as _built_at
    from unioned
)

select * from final
