{#-
    The quality marts read every staged table whole (226M base rows at 100M events), so
    the next day they are kept up to date instead, from the base rows staged since their
    own last build (`_staged_at` > their max(`_built_at`), as in incremental_customers):

    - quarantined_rows: the rows of those base rows are deleted (pre-hook
      `delete_restaged_quarantine`) and those now quarantined appended. The CRM's base
      table is rebuilt every run (no `_staged_at`), so its rows are always replaced.
    - source_volume_daily: the (source, day) pairs of those base rows, any status, are
      counted again (pre-hook `delete_recounted_volume_days` deletes their rows). A row
      staged again is the same raw row, so it falls on the same day as before.

    Everything is redone (all deleted, all appended) when customers_need_full_recompute
    says the watermark cannot vouch for the base tables: the table is empty, a base row
    was deleted (a re-landed or removed file) or a base table was rebuilt since. A full
    refresh builds the table whole; the tests check both give the same table.
-#}

{#- The id of a quarantined row: source:file:row. -#}
{% macro quarantined_row_id(source_name, source_file, source_row) -%}
    {{ dbt.concat([source_name, "':'", source_file, "':'",
                   dbt.cast(source_row, dbt.type_string())]) }}
{%- endmacro %}


{#- The staged tables of the sources with rows that can change between runs: (source
    name, base model, key, type column, time column). -#}
{% macro quality_bases() -%}
    {{ return([
        ('events', 'base_web__events', 'event_id', 'event_type', 'event_at'),
        ('orders', 'base_shop__orders', 'order_id', 'order_status', 'ordered_at'),
        ('email_events', 'base_esp__email_events', 'email_event_id', 'email_event_type',
         'event_at'),
    ]) }}
{%- endmacro %}


{#- Filter on a base table: its rows staged since this model's last build; nothing on a
    full build or a full recompute. -#}
{% macro staged_since_last_build(full_recompute) -%}
    {%- if is_incremental() and not full_recompute -%}
    _staged_at > {{ customer_watermark() }}
    {%- else -%}
    true
    {%- endif -%}
{%- endmacro %}


{#- Pre-hook body: on an incremental run, delete the rows `where` names (a condition on
    this model's table, for a run that is not a full recompute), or every row on a full
    recompute; nothing on a full build. -#}
{% macro delete_recomputed_rows(where) -%}
    {%- if is_incremental() -%}
    delete from {{ this }}
    {%- if not customers_need_full_recompute() %}
    where {{ where }}
    {%- endif -%}
    {%- endif -%}
{%- endmacro %}


{% macro delete_restaged_quarantine() -%}
    {%- set where -%}
    source_name = 'customers'
        {%- for name, model, key, type_column, time_column in quality_bases() %}
        or quarantined_row_id in (
            select {{ quarantined_row_id("'" ~ name ~ "'", '_source_file', '_source_row') }}
            from {{ ref(model) }}
            where {{ staged_since_last_build(false) }}
        )
        {%- endfor %}
    {%- endset -%}
    {{ delete_recomputed_rows(where) }}
{%- endmacro %}


{#- The (source_name, activity_date) pairs to count again: every pair of the base rows
    staged since the last build (a select; all on a full build or recompute). -#}
{% macro recounted_volume_days(full_recompute) -%}
    {%- for name, model, key, type_column, time_column in quality_bases() %}
    select distinct '{{ name }}' as source_name, cast({{ time_column }} as date) as activity_date
    from {{ ref(model) }}
    where {{ staged_since_last_build(full_recompute) }} and {{ time_column }} is not null
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
{%- endmacro %}


{#- Filter on a staged source's rows: those of its days to count again (see above), by a
    literal first day (older row groups are skipped) and a join on the days. -#}
{% macro recounted_volume_rows(full_recompute, name, time_column) -%}
    {%- if is_incremental() and not full_recompute -%}
    {%- set first_day = query_literal(
        "select min(activity_date) from (" ~ recounted_volume_days(full_recompute)
        ~ ") as days where source_name = '" ~ name ~ "'", this) -%}
    {{ time_column }} >= cast({{ first_day }} as timestamp)
        and cast({{ time_column }} as date) in (
            select activity_date from recounted where source_name = '{{ name }}')
    {%- else -%}
    true
    {%- endif -%}
{%- endmacro %}


{% macro delete_recounted_volume_days() -%}
    {%- set where -%}
    exists (
        select 1 from ({{ recounted_volume_days(false) }}) as recounted
        where recounted.source_name = {{ this }}.source_name
            and recounted.activity_date = {{ this }}.activity_date
    )
    {%- endset -%}
    {{ delete_recomputed_rows(where) }}
{%- endmacro %}
