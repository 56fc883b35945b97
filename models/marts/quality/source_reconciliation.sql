{#- Row accounting per source: what the landing step read from disk, what reached the
    raw table, and where every raw row went. Grain: one row per source.
    Tested: landed_rows = raw_rows = staged + duplicate + superseded + quarantined. -#}
{%- set bases = [
    ('customers', 'crm', 'base_crm__customers'),
    ('events', 'web', 'base_web__events'),
    ('orders', 'shop', 'base_shop__orders'),
    ('email_events', 'esp', 'base_esp__email_events'),
] %}
with
manifest as (
    select
        source as source_name,
        sum(row_count) as landed_rows,
        count(*) as landed_files
    from {{ source('landing', '_landed_files') }}
    group by 1
),

{% for name, system, model in bases %}
raw_{{ name }} as (
    select '{{ name }}' as source_name, count(*) as raw_rows
    from {{ source(system, name) }}
),

classified_{{ name }} as (
    select
        '{{ name }}' as source_name,
        {{ count_if("_row_status = 'staged'") }} as staged_rows,
        {{ count_if("_row_status = 'duplicate'") }} as duplicate_rows,
        {{ count_if("_row_status = 'superseded'") }} as superseded_rows,
        {{ count_if("_row_status = 'quarantined'") }} as quarantined_rows
    from {{ ref(model) }}
),
{% endfor %}

raw_counts as (
    {% for name, system, model in bases %}
    select * from raw_{{ name }}
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

classified_counts as (
    {% for name, system, model in bases %}
    select * from classified_{{ name }}
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

final as (
    select
        raw_counts.source_name,
        coalesce(manifest.landed_files, 0) as landed_files,
        coalesce(manifest.landed_rows, 0) as landed_rows,
        raw_counts.raw_rows,
        classified_counts.staged_rows,
        classified_counts.duplicate_rows,
        classified_counts.superseded_rows,
        classified_counts.quarantined_rows,
        classified_counts.staged_rows + classified_counts.duplicate_rows
        + classified_counts.superseded_rows
        + classified_counts.quarantined_rows as accounted_rows
    from raw_counts
    inner join classified_counts
        on raw_counts.source_name = classified_counts.source_name
    left join manifest
        on raw_counts.source_name = manifest.source_name
)

select * from final
