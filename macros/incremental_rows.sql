{#-
    Incremental staging: which raw rows a base_ model reclassifies on this run.

    The base models classify rows per natural key (versions, duplicates, conflicts), so
    an incremental run reclassifies every raw row of each key it touches and replaces
    those rows (delete+insert on _source_file, _source_row). A key is touched when
    - a row with that key landed since the last run (minus staging_lookback_hours);
    - a row built from it was re-landed or is gone from raw (a changed file: found by
      per-file counts and landing times, not a row-level join of table and raw);
    - its customer is new or changed in the CRM (unknown_customer_id may no longer hold).
    Keyless rows landed since the last run are added as they come. When the CRM lands
    for the first time every row's customer check changes, so every row is redone.
    The post-hook `delete_stale_rows` removes rows whose raw row no longer exists.
    A full refresh (or the first run) takes every raw row; both give the same table.

    The usual next run only appends new keys (new events, new emails): then no row
    landed before has any of their keys, no file changed and the CRM did not change,
    so the rows landed since are all that is reclassified, and raw is not searched
    for earlier rows of the touched keys (at 100M events that search read every raw
    column of 121M rows, 22 s). Checked when the model runs:
    incremental_crm_changed, incremental_files_changed and
    incremental_earlier_rows_of_new_keys.

    all_rows: CTE with the renamed raw columns; raw_key / raw_customer: its key and
    customer columns; key: the cleaned key column of this model's table;
    landed / landed_key: the raw relation and its key column (for the run-time checks).
-#}
{% macro incremental_rows(all_rows, raw_key, raw_customer, key, landed, landed_key) -%}
{%- if is_incremental() %}
{#- literals, not subqueries (query_literal): a filter on a literal landing time skips
    the row groups landed before it; against a subquery every raw row was read and
    joined (18 s of the 100M next-day run's base_web__events) -#}
{%- set landed_after = query_literal(
    'select ' ~ dbt.dateadd('hour', -var('staging_lookback_hours'), 'max(_landed_at)')
    ~ ' from ' ~ this, this) %}
{%- set max_built = query_literal('select max(_landed_at) from ' ~ this, this) %}
{%- set first_crm_landing = incremental_first_crm_landing(landed_after) %}
{%- set crm_changed = incremental_crm_changed(landed_after) %}
{%- set files_changed = incremental_files_changed(landed, max_built) %}
{%- set new_keys_only = not first_crm_landing and not crm_changed and not files_changed
    and not incremental_earlier_rows_of_new_keys(landed, landed_key, key, landed_after) %}
{%- if new_keys_only %}
{%- do log(this.identifier ~ ': only the rows landed since ' ~ landed_after
    ~ ' (none of their keys landed before, no file changed, CRM unchanged)') %}

source as (
    select * from {{ all_rows }}
    where _landed_at > {{ landed_after }}
)
{%- else %}
{%- do log_restaging() %}

crm_rows as (
    select
        {{ clean_text('customer_id') }} as customer_id,
        _landed_at
    from {{ source('crm', 'customers') }}
),

-- files whose landed rows are no longer the ones built (a file re-landed or gone):
-- per-file counts and landing times, two cheap aggregates instead of a row-level
-- anti-join of the whole table against the whole of raw
changed_files as (
    {{ changed_source_files(this, all_rows, max_built) }}
),

stale_keys as (
    select {{ key }} as touched_key
    from {{ this }}
    where _source_file in (select _source_file from changed_files)
),

touched_keys as (
    -- rows landed since the last run (the landing-time filter skips old row groups)
    select {{ clean_text(raw_key) }} as touched_key
    from {{ all_rows }}
    where _landed_at > {{ landed_after }}
    {%- if crm_changed %}
    union
    -- rows of customers new or changed in the CRM since the last run
    select {{ clean_text(raw_key) }} as touched_key
    from {{ all_rows }}
    where {{ clean_text(raw_customer) }} in (
        select customer_id from crm_rows
        where _landed_at > {{ landed_after }}
    )
    {%- endif %}
    {%- if files_changed %}
    union
    select touched_key from stale_keys
    {%- endif %}
),

-- read twice (repeat candidates, typing): buffered, as it is the touched rows only
source as (
    {%- if first_crm_landing %}
    -- the CRM landed for the first time since the last run: every row's customer
    -- check changes, so every row is redone
    select * from {{ all_rows }}
    {%- else %}
    select * from {{ all_rows }}
    where {{ clean_text(raw_key) }} in (select touched_key from touched_keys)
    union all
    select * from {{ all_rows }}
    where {{ clean_text(raw_key) }} is null and _landed_at > {{ landed_after }}
    {%- endif %}
)
{%- endif %}
{%- else %}
source as {{ inline_cte() }} (
    select * from {{ all_rows }}
)
{%- endif %}
{%- endmacro %}


{% macro delete_stale_rows(raw_relation) -%}
    {#- rendered after the insert: when no file's rows differ from raw (the usual run),
        nothing can be stale, and the two statements below, which compare the files
        again each, are left out (100M events: 2.2 s of each base model's next day) -#}
    {%- if is_incremental() and execute and run_query(
            'select count(*) from (' ~ changed_source_files(this, raw_relation)
            ~ ') as changed').rows[0][0] > 0 -%}
    {#- recorded first: the models incremental by customer recompute everyone after a
        deletion (see incremental_customers) -#}
    insert into {{ stale_row_log() }}
    select '{{ this.identifier }}', count(*), {{ dbt.current_timestamp() }}
    from {{ this }}
    where {{ stale_rows(raw_relation) }}
    having count(*) > 0;
    delete from {{ this }}
    where {{ stale_rows(raw_relation) }}
    {%- endif -%}
{%- endmacro %}


{#- The log of rows deleted from the incremental base tables: created before any model
    runs (on-run-start), as the base models run side by side. -#}
{% macro stale_row_log() -%}
    {{ generate_schema_name('staging', none) }}._stale_row_deletions
{%- endmacro %}


{#- The log of incremental base runs that reclassified rows landed before (any run not
    taking only new keys: duplicates or versions of earlier keys, a re-landed file, a
    CRM change). Such a run can change what earlier rows said even when every row it
    staged landed since (a file re-landed with other content replaces its rows in
    place), so the models that merge new rows into what they built
    (only_new_web_rows_since) take their full path after one. Written when the model's
    SQL is rendered for a run: a run that then fails leaves an entry, which only costs
    the next run its shortcut. -#}
{% macro restaging_log() -%}
    {{ generate_schema_name('staging', none) }}._restaging_runs
{%- endmacro %}

{% macro log_restaging() -%}
    {%- if execute and is_incremental() and flags.WHICH in ('run', 'build') -%}
    {%- do run_query("insert into " ~ restaging_log() ~ " values ('" ~ this.identifier
        ~ "', " ~ dbt.current_timestamp() ~ ")") -%}
    {%- endif -%}
{%- endmacro %}


{#- One statement per call (Spark runs one at a time). -#}
{% macro stale_row_log_start() -%}
    {%- if execute -%}
    {%- set ts = 'timestamp' if target.type == 'spark' else 'timestamp with time zone' -%}
    {%- do run_query("create schema if not exists " ~ generate_schema_name('staging', none)) -%}
    {%- do run_query("create table if not exists " ~ stale_row_log() ~ " (model_name "
        ~ dbt.type_string() ~ ", deleted_rows bigint, deleted_at " ~ ts ~ ")") -%}
    {%- do run_query("create table if not exists " ~ restaging_log() ~ " (model_name "
        ~ dbt.type_string() ~ ", restaged_at " ~ ts ~ ")") -%}
    {%- endif -%}
    select 1
{%- endmacro %}


{% macro stale_rows(raw_relation) -%}
    _source_file in (
        {{ changed_source_files(this, raw_relation) }}
    )
    and not exists (
        select 1 from {{ raw_relation }} as landed
        where landed._source_file = {{ this }}._source_file
            and landed._source_row = {{ this }}._source_row
            and landed._landed_at = {{ this }}._landed_at
    )
{%- endmacro %}


{#- The source files whose rows in `built` are not exactly the rows in `landed`: a file
    landed again (its rows carry a new landing time) or removed from raw. Compared by
    per-file row count and first and last landing time; with `up_to` (a landing time)
    only raw rows landed up to then count, so files that merely gained
    new rows since the build are not "changed". -#}
{% macro changed_source_files(built, landed, up_to=none) -%}
    select coalesce(b._source_file, l._source_file) as _source_file
    from (
        select _source_file, count(*) as n, min(_landed_at) as first_at,
            max(_landed_at) as last_at
        from {{ built }}
        group by 1
    ) as b
    full outer join (
        select _source_file, count(*) as n, min(_landed_at) as first_at,
            max(_landed_at) as last_at
        from {{ landed }}
        {%- if up_to %}
        where _landed_at <= {{ up_to }}
        {%- endif %}
        group by 1
    ) as l
        on b._source_file = l._source_file
    where b.n is null or l.n is null or b.n != l.n
        or b.first_at != l.first_at or b.last_at != l.last_at
{%- endmacro %}


{#- Whether the CRM has rows and none of them landed by `landed_after` (a literal): its
    first landing. Decided when the model runs; false before that. -#}
{% macro incremental_first_crm_landing(landed_after) -%}
    {%- if not execute -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set q -%}
        select count(*) > 0
            and {{ count_if('_landed_at <= ' ~ landed_after) }} = 0
        from {{ source('crm', 'customers') }}
    {%- endset -%}
    {{ return(run_query(q).rows[0][0]) }}
{%- endmacro %}


{#- Whether a file's rows in this model's table are not the ones in raw (re-landed or
    gone; see changed_source_files). Decided when the model runs; true before that. -#}
{% macro incremental_files_changed(landed, max_built) -%}
    {%- if not execute or not is_incremental() -%}
        {{ return(true) }}
    {%- endif -%}
    {%- set q -%}
        select count(*) > 0 from (
            {{ changed_source_files(this, landed, max_built) }}
        ) as changed
    {%- endset -%}
    {{ return(run_query(q).rows[0][0]) }}
{%- endmacro %}


{#- Whether a row of this model's table, landed by `landed_after`, has the key of a raw
    row landed since: then the earlier rows of the touched keys are reclassified with
    the new ones (duplicates, conflicts, versions). The table's key column is already
    cleaned, so only the new raw keys are cleaned. Decided when the model runs; true
    before that. -#}
{% macro incremental_earlier_rows_of_new_keys(landed, landed_key, key, landed_after) -%}
    {%- if not execute or not is_incremental() -%}
        {{ return(true) }}
    {%- endif -%}
    {%- set q -%}
        select count(*) > 0 from (
            select 1 from {{ this }}
            where _landed_at <= {{ landed_after }}
                and {{ key }} in (
                    select {{ clean_text(landed_key) }} from {{ landed }}
                    where _landed_at > {{ landed_after }}
                )
            limit 1
        ) as earlier
    {%- endset -%}
    {{ return(run_query(q).rows[0][0]) }}
{%- endmacro %}


{#- Whether any CRM row landed since this model's last build (new or changed
    customers): only then are the rows of those customers looked for in raw. Decided
    when the model runs, from the data. -#}
{% macro incremental_crm_changed(landed_after) -%}
    {%- if not execute or not is_incremental() -%}
        {{ return(true) }}
    {%- endif -%}
    {%- set q -%}
        select count(*) > 0 from {{ source('crm', 'customers') }}
        where _landed_at > {{ landed_after }}
    {%- endset -%}
    {{ return(run_query(q).rows[0][0]) }}
{%- endmacro %}


{#- The materialization of the models kept up to date by key (delete+insert): incremental
    where the engine can delete rows. Plain Spark tables (parquet) cannot: there they are
    rebuilt in full each run (same rows; the is_incremental() branches are not taken).
    With Delta Lake on the cluster, a spark__ strategy of merge could take over. -#}
{% macro keyed_incremental() -%}
    {{ return(adapter.dispatch('keyed_incremental', 'customer_segments')()) }}
{%- endmacro %}

{% macro default__keyed_incremental() -%}
    {{ return('incremental') }}
{%- endmacro %}

{% macro spark__keyed_incremental() -%}
    {{ return('table') }}
{%- endmacro %}
