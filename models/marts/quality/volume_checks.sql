{#- The day-over-day volume check, per source and type and in total: the last complete
    day (the day before the newest) against the median of the days before it
    (zero-filled, so a type that stops shows as a drop), and the newest day, which may
    still be filling up, for spikes only. A spike or drop beyond the warn ratio warns,
    beyond the error ratio errors; the dbt tests on this model turn that into a warning
    or a failed build. -#}
{%- set baseline_days = var('volume_baseline_days') -%}
{%- set modes = var('volume_baseline_mode') -%}
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
    {%- for i in range(7 * baseline_days + 2) %}
    select {{ i }} as day_offset{% if not loop.last %} union all{% endif %}
    {%- endfor %}
),

grid as (
    select
        series.source_name,
        series.event_type,
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
        case grid.source_name
            {%- for source, mode in modes.items() %}
            when '{{ source }}' then '{{ mode }}'
            {%- endfor %}
            else 'day'
        end as baseline_mode,
        coalesce(daily.row_count, 0) as row_count
    from grid
    left join daily
        on grid.source_name = daily.source_name
        and grid.event_type = daily.event_type
        and grid.activity_date = daily.activity_date
),

-- the newest day (offset 0, may be partial) and the last complete day (offset 1), each
-- against the days before it
checked_days as (
    select
        checked.source_name,
        checked.event_type,
        checked.day_offset,
        checked.baseline_mode,
        checked.activity_date as checked_date,
        checked.row_count,
        before.row_count as baseline_count
    from filled as checked
    inner join filled as before
        on checked.source_name = before.source_name
        and checked.event_type = before.event_type
        and (
            -- day: the N days before; weekday: the same weekday in the N weeks before
            (checked.baseline_mode = 'day'
                and before.day_offset between checked.day_offset + 1
                and checked.day_offset + {{ baseline_days }})
            or (checked.baseline_mode = 'weekday'
                and before.day_offset > checked.day_offset
                and mod(before.day_offset - checked.day_offset, 7) = 0
                and before.day_offset <= checked.day_offset + 7 * {{ baseline_days }})
        )
    where checked.day_offset <= 1
),

checked as (
    select
        source_name,
        event_type,
        day_offset = 0 as is_newest_day,
        baseline_mode,
        checked_date,
        row_count,
        percentile_cont(0.5) within group (order by baseline_count) as baseline_rows,
        {{ count_if('baseline_count > 0') }} as baseline_days_with_rows
    from checked_days
    group by source_name, event_type, day_offset, baseline_mode, checked_date, row_count
),

classified as (
    select
        *,
        case when baseline_rows > 0 then row_count / baseline_rows end as volume_ratio,
        case
            when baseline_days_with_rows < {{ var('volume_min_baseline_days') }}
                or baseline_rows < {{ var('volume_min_baseline_rows') }}
                then 'not_checked'
            when row_count >= {{ var('volume_error_ratio') }} * baseline_rows then 'error'
            -- the newest day may still be filling up: only a spike counts there
            when not is_newest_day
                and row_count <= baseline_rows / {{ var('volume_error_ratio') }} then 'error'
            when row_count >= {{ var('volume_warn_ratio') }} * baseline_rows then 'warn'
            when not is_newest_day
                and row_count <= baseline_rows / {{ var('volume_warn_ratio') }} then 'warn'
            else 'ok'
        end as check_status
    from checked
),

final as (
    select
        source_name,
        event_type,
        check_status,
        source_name || ' ' || event_type || ' on ' || cast(checked_date as string) || ': '
            || cast(row_count as string) || ' rows against the median of '
            || case when baseline_mode = 'weekday'
                then 'the same weekday in the ' || cast({{ baseline_days }} as string)
                    || ' weeks before, '
                else 'the ' || cast({{ baseline_days }} as string) || ' days before, ' end
            || cast(round(baseline_rows, 1) as string)
            || coalesce(' (' || cast(round(volume_ratio, 2) as string) || 'x)', '')
            || case when is_newest_day then '; newest day, may be partial: spikes only'
                else '' end
            as check_message,
        row_count,
        baseline_rows,
        volume_ratio,
        baseline_days_with_rows,
        is_newest_day,
        baseline_mode,
        checked_date
    from classified
)

select * from final
