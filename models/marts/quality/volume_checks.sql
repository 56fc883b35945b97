{#- The day-over-day volume check: each source's newest day of activity, per type and in
    total, against the median of the days before it (zero-filled, so a type that stops
    shows as a drop). A spike or drop beyond the warn ratio warns, beyond the error ratio
    errors; the dbt tests on this model turn that into a warning or a failed build. -#}
{%- set baseline_days = var('volume_baseline_days') -%}
with

daily as (
    select * from {{ ref('source_volume_daily') }}
),

latest as (
    select
        source_name,
        max(activity_date) as checked_date
    from daily
    group by source_name
),

series as (
    select distinct
        source_name,
        event_type
    from daily
),

offsets as (
    {%- for i in range(baseline_days + 1) %}
    select {{ i }} as day_offset{% if not loop.last %} union all{% endif %}
    {%- endfor %}
),

grid as (
    select
        series.source_name,
        series.event_type,
        latest.checked_date,
        offsets.day_offset,
        cast({{ dbt.dateadd('day', '-1 * offsets.day_offset', 'latest.checked_date') }}
            as date) as activity_date
    from series
    inner join latest on series.source_name = latest.source_name
    cross join offsets
),

filled as (
    select
        grid.*,
        coalesce(daily.row_count, 0) as row_count
    from grid
    left join daily
        on grid.source_name = daily.source_name
        and grid.event_type = daily.event_type
        and grid.activity_date = daily.activity_date
),

baseline as (
    select
        source_name,
        event_type,
        percentile_cont(0.5) within group (order by row_count) as baseline_rows,
        {{ count_if('row_count > 0') }} as baseline_days_with_rows
    from filled
    where day_offset > 0
    group by source_name, event_type
),

checked as (
    select
        filled.source_name,
        filled.event_type,
        filled.row_count,
        baseline.baseline_rows,
        baseline.baseline_days_with_rows,
        filled.checked_date,
        case when baseline.baseline_rows > 0
            then filled.row_count / baseline.baseline_rows end as volume_ratio
    from filled
    inner join baseline
        on filled.source_name = baseline.source_name
        and filled.event_type = baseline.event_type
    where filled.day_offset = 0
),

classified as (
    select
        *,
        case
            when baseline_days_with_rows < {{ var('volume_min_baseline_days') }}
                or baseline_rows < {{ var('volume_min_baseline_rows') }}
                then 'not_checked'
            when volume_ratio >= {{ var('volume_error_ratio') }}
                or volume_ratio <= 1.0 / {{ var('volume_error_ratio') }} then 'error'
            when volume_ratio >= {{ var('volume_warn_ratio') }}
                or volume_ratio <= 1.0 / {{ var('volume_warn_ratio') }} then 'warn'
            else 'ok'
        end as check_status
    from checked
),

final as (
    select
        source_name,
        event_type,
        check_status,
        source_name || ' ' || event_type || ' on ' || cast(checked_date as varchar) || ': '
            || cast(row_count as varchar) || ' rows against a '
            || cast({{ baseline_days }} as varchar) || '-day median of '
            || cast(round(baseline_rows, 1) as varchar)
            || coalesce(' (' || cast(round(volume_ratio, 2) as varchar) || 'x)', '')
            as check_message,
        row_count,
        baseline_rows,
        volume_ratio,
        baseline_days_with_rows,
        checked_date
    from classified
)

select * from final
