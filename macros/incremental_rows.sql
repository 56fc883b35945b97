{#-
    Incremental staging: which raw rows a base_ model reclassifies on this run.

    The base models classify rows per natural key (versions, duplicates, conflicts), so
    an incremental run reclassifies every raw row of each key it touches and replaces
    those rows (delete+insert on _source_file, _source_row). A key is touched when
    - a row with that key landed since the last run (minus staging_lookback_hours);
    - a row built from it was re-landed or is gone from raw (a changed file);
    - its customer is new or changed in the CRM (unknown_customer_id may no longer hold).
    Keyless rows landed since the last run are added as they come. When the CRM lands
    for the first time every row's customer check changes, so every row is redone.
    The post-hook `delete_stale_rows` removes rows whose raw row no longer exists.
    A full refresh (or the first run) takes every raw row; both give the same table.

    all_rows: CTE with the renamed raw columns; raw_key / raw_customer: its key and
    customer columns; key: the cleaned key column of this model's table.
-#}
{% macro incremental_rows(all_rows, raw_key, raw_customer, key) -%}
{%- if is_incremental() %}
watermark as (
    select
        {{ dbt.dateadd('hour', -var('staging_lookback_hours'), 'max(_landed_at)') }}
            as landed_after
    from {{ this }}
),

crm_rows as (
    select
        {{ clean_text('customer_id') }} as customer_id,
        _landed_at
    from {{ source('crm', 'customers') }}
),

first_crm_landing as (
    select
        count(*) > 0
        and {{ count_if('_landed_at <= (select landed_after from watermark)') }} = 0
            as is_first
    from crm_rows
),

stale_keys as (
    select built.{{ key }} as touched_key
    from {{ this }} as built
    left join {{ all_rows }} as landed
        on built._source_file = landed._source_file
        and built._source_row = landed._source_row
        and built._landed_at = landed._landed_at
    where landed._source_row is null
),

touched_keys as (
    -- one scan of raw: rows landed since the last run, and rows of CRM-changed customers
    select {{ clean_text(raw_key) }} as touched_key
    from {{ all_rows }}
    where _landed_at > (select landed_after from watermark)
        or {{ clean_text(raw_customer) }} in (
            select customer_id from crm_rows
            where _landed_at > (select landed_after from watermark)
        )
    union
    select touched_key from stale_keys
),

source as (
    select * from {{ all_rows }}
    where {{ clean_text(raw_key) }} in (select touched_key from touched_keys)
        or ({{ clean_text(raw_key) }} is null
            and _landed_at > (select landed_after from watermark))
        or (select is_first from first_crm_landing)
)
{%- else %}
source as (
    select * from {{ all_rows }}
)
{%- endif %}
{%- endmacro %}


{% macro delete_stale_rows(raw_relation) -%}
    {%- if is_incremental() -%}
    delete from {{ this }}
    where not exists (
        select 1 from {{ raw_relation }} as landed
        where landed._source_file = {{ this }}._source_file
            and landed._source_row = {{ this }}._source_row
            and landed._landed_at = {{ this }}._landed_at
    )
    {%- endif -%}
{%- endmacro %}
