{#-
    Incremental by customer: the intermediate models that aggregate the large staged
    tables per customer (activity per day, category interest per day) recompute only the
    customers whose staged rows changed since their own last build.

    - Every base_ staging row carries `_staged_at`, when this row was last (re)classified.
      A model built this way carries `_built_at`; its watermark is max(_built_at).
    - Touched customers: the customer of every base row (any status) staged since the
      watermark, plus every customer seen with an anonymous id whose stitching changed
      (restitched_anonymous_ids) or with a touched email message (its owner may have
      changed).
    - A touched customer's rows are replaced: delete+insert on customer_id, or on
      customer and day for the daily tables. Every touched customer also gets one
      tombstone row (activity_date null): keyed by customer it replaces the old rows of
      a customer left with none; for the daily tables the post-hook
      `delete_replaced_days` deletes the rows older than it (days no longer active).
      The post-hook then deletes the tombstones.
    - Everything is recomputed (the model is still incremental, every current customer
      gets replaced) when the watermark cannot vouch for the staged tables: the model is
      empty, a base table dropped rows since (a re-landed or removed file, recorded in
      `_stale_row_deletions` by `log_stale_rows`), or a base table was rebuilt since
      (a full refresh of staging, the first CRM landing: no row is older than the
      watermark).
    A full refresh (or the first run) computes every customer; the tests check that an
    incremental run gives the same table.
-#}

{% macro customer_watermark() -%}
    {{ query_literal('select max(_built_at) from ' ~ this, this) }}
{%- endmacro %}


{#- The same for models keyed by another column (a message, an anonymous id, an
    event): `changed_keys(base, column)` selects that column from the base rows staged
    since this model's last build. -#}
{% macro changed_keys(base, column) -%}
    {%- set since = customer_watermark() -%}
    select {{ column }} from {{ ref(base) }}
    where _staged_at > {{ since }} and {{ column }} is not null
    {%- if not staged_since(base, since) %}
        -- nothing staged since: a constant the planner folds, dropping every read joined
        -- to these keys (at 100M events the next day's int_email_messages, with no
        -- email staged, still read every staged email event against none: 9.7 s)
        and false
    {%- endif %}
{%- endmacro %}


{#- Whether `base` has rows staged after `since` (a literal); decided when an incremental
    model runs, true before that. -#}
{% macro staged_since(base, since) -%}
    {%- if not execute or not is_incremental() or model.resource_type == 'unit_test' -%}
        {{ return(true) }}
    {%- endif -%}
    {%- set q -%}
        select count(*) > 0 from (
            select 1 from {{ ref(base) }} where _staged_at > {{ since }} limit 1
        ) as staged
    {%- endset -%}
    {{ return(run_query(q).rows[0][0]) }}
{%- endmacro %}


{#- True when the model must recompute every customer (see above); decided when the
    model runs. False on a full refresh, where nothing is incremental. -#}
{% macro customers_need_full_recompute(bases=['base_web__events', 'base_esp__email_events',
                                              'base_shop__orders']) -%}
    {%- if not execute or not is_incremental() -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set columns = adapter.get_columns_in_relation(this) | map(attribute='name') | list -%}
    {%- if '_built_at' not in columns -%}
        {{ exceptions.raise_compiler_error(
            this ~ " was built by a version without incremental builds (no _built_at"
            ~ " column): rebuild it once with dbt build --full-refresh --select "
            ~ this.identifier) }}
    {%- endif -%}
    {%- set q -%}
        with watermark as (
            select {{ customer_watermark() }} as built_at
        )
        select
            (select built_at from watermark) is null
            or exists (
                select 1 from {{ stale_row_log() }}
                where deleted_at > (select built_at from watermark)
            )
            {%- for base in bases %}
            or exists (select 1 from {{ ref(base) }})
                and not exists (
                    select 1 from {{ ref(base) }}
                    where _staged_at <= (select built_at from watermark)
                )
            {%- endfor %}
    {%- endset -%}
    {{ return(run_query(q).rows[0][0]) }}
{%- endmacro %}


{#- CTE `touched`: the customers to recompute on this run (empty on a full build, where
    nothing is filtered). Use with `touched_join()` in every input and
    `touched_tombstones()` in the keys. -#}
{% macro touched_customers_cte(full_recompute) -%}
    {%- set since = customer_watermark() %}
    {%- set changed -%}
    select customer_id from {{ ref('base_shop__orders') }}
    where _staged_at > {{ since }} and customer_id is not null
    union
    select customer_id from {{ ref('base_esp__email_events') }}
    where _staged_at > {{ since }} and customer_id is not null
    union
    -- every customer of a message with a changed event (its owner is the least id)
    select customer_id from {{ ref('base_esp__email_events') }}
    where message_id in (
        select message_id from {{ ref('base_esp__email_events') }}
        where _staged_at > {{ since }} and message_id is not null
    )
        and customer_id is not null
    union
    select customer_id from {{ ref('base_web__events') }}
    where _staged_at > {{ since }} and customer_id is not null
    union
    -- every customer seen with an anonymous id whose stitching changed: its events
    -- moved from one customer to another
    select customer_id from {{ ref('base_web__events') }}
    where anonymous_id in ({{ restitched_anonymous_ids(since) }})
        and customer_id is not null
    {%- endset -%}
    {{ touched_keys_cte('customer_id', full_recompute, changed) }}
{%- endmacro %}


{#- CTE `touched`: the keys (`key`) to recompute on this run: the query `changed` on an
    incremental run, every key built so far on a full recompute (all are replaced),
    none on a full build (nothing is filtered). -#}
{% macro touched_keys_cte(key, full_recompute, changed) -%}
touched as (
    {%- if is_incremental() and not full_recompute %}
    {{ changed }}
    {%- elif is_incremental() %}
    select distinct {{ key }} from {{ this }}
    {%- else %}
    select cast(null as {{ dbt.type_string() }}) as {{ key }}
    where 1 = 0
    {%- endif %}
)
{%- endmacro %}


{#- Keeps an input's rows of the touched keys: `select input_rows.* from <input> as
    input_rows {{ touched_join(full_recompute, 'input_rows') }} where ...`; nothing on
    a full build or a full recompute. A join on the distinct touched keys, not
    `column in (select key from touched)`: DuckDB may build that semi join's hash table
    on the large input instead of the few touched keys (the identity map at 100M next
    day: 14 s against 0.6 s). -#}
{% macro touched_join(full_recompute, relation, column='customer_id', key='customer_id') -%}
    {%- if is_incremental() and not full_recompute -%}
    inner join (select distinct {{ key }} as touched_key from touched) as touched_keys
        on {{ relation }}.{{ column }} = touched_keys.touched_key
    {%- endif -%}
{%- endmacro %}


{#- Rows to union into the model's keys on an incremental run: one per touched
    customer, with a null date, so a customer left without rows still replaces its old
    ones. `delete_tombstones` removes them after the insert. -#}
{% macro touched_tombstones(columns) -%}
    {%- if is_incremental() %}
    union all
    select customer_id
        {%- for c in columns %}, cast(null as {{ c[1] }}) as {{ c[0] }}{% endfor %}
    from touched
    {%- endif %}
{%- endmacro %}


{% macro delete_tombstones(column='activity_date') -%}
    {%- if is_incremental() -%}
    delete from {{ this }} where {{ column }} is null
    {%- endif -%}
{%- endmacro %}


{#- The anonymous ids whose stitched customer may differ from what a model built at
    `since` saw: ids whose customer or first identification changed since
    (int_anonymous_ids_stitched._stitched_at), and ids with rows staged since that have
    no identity now (never identified, or no longer: their events lose the customer).
    A new event of an already stitched id changes no other event: at 100M events the
    next day touched 5.9M stitched events this way, 0.36M without it. -#}
{% macro restitched_anonymous_ids(since) -%}
    select anonymous_id from {{ ref('int_anonymous_ids_stitched') }}
    where _stitched_at > {{ since }}
    union
    select staged.anonymous_id from {{ ref('base_web__events') }} as staged
    where staged._staged_at > {{ since }} and staged.anonymous_id is not null
        and not exists (
            select 1 from {{ ref('int_anonymous_ids_stitched') }} as stitched
            where stitched.anonymous_id = staged.anonymous_id
        )
{%- endmacro %}


{#- Stop with what to do when an incremental model's table lacks a column this version
    adds (renders nothing otherwise). -#}
{% macro require_columns(relation, names) -%}
    {%- if execute -%}
    {%- set columns = adapter.get_columns_in_relation(relation) | map(attribute='name') | list -%}
    {%- for name in names if name not in columns -%}
        {{ exceptions.raise_compiler_error(
            relation ~ " was built by an earlier version (no " ~ name ~ " column): rebuild"
            ~ " it once with dbt build --full-refresh --select " ~ relation.identifier) }}
    {%- endfor -%}
    {%- endif -%}
{%- endmacro %}


{#- True when all that was staged since this model's last build is new web events (the
    usual next run): no order or email event staged since, no web row of an earlier
    landing staged again (a re-landed file, a duplicate or new version of an earlier
    key, a CRM change reclassifying rows), and no stitched event redone but the new
    ones (no anonymous id changed hands). Then an event counts only on its own day
    (known_at), so the touched customers need only those days recounted
    (new_web_days_cte); their other days are as built. Decided when the model runs;
    dbt's debug log says when. At 100M events the next day read 7.5M stitched events
    of the touched customers' whole history for about 0.7M on the new days. -#}
{% macro only_new_web_events(full_recompute) -%}
    {%- if not execute or not is_incremental() or full_recompute -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set since = customer_watermark() -%}
    {%- set q -%}
        select
            not exists (
                select 1 from {{ ref('base_shop__orders') }} where _staged_at > {{ since }})
            and not exists (
                select 1 from {{ ref('base_esp__email_events') }}
                where _staged_at > {{ since }})
            and {{ only_new_web_rows_since(since) }}
            and not exists (
                select 1 from {{ ref('int_anonymous_events_stitched') }} as stitched
                where stitched._built_at > {{ since }}
                    and not exists (
                        select 1 from {{ ref('base_web__events') }} as staged
                        where staged._staged_at > {{ since }}
                            and staged.event_id = stitched.event_id
                    )
            )
    {%- endset -%}
    {%- set result = run_query(q).rows[0][0] -%}
    {%- if result -%}
        {%- do log(this.identifier ~ ": only new web events since the last build,"
                   ~ " redoing just what they change", info=false) -%}
    {%- endif -%}
    {{ return(result) }}
{%- endmacro %}


{#- CTE `new_web_days` (customer_id, activity_date): the days of the web events stitched
    since this model's last build. -#}
{% macro new_web_days_cte() -%}
new_web_days as (
    select distinct customer_id, cast(known_at as date) as activity_date
    from {{ ref('int_events_stitched') }}
    where _built_at > {{ customer_watermark() }} and customer_id is not null
)
{%- endmacro %}


{#- CTEs `new_web_days` and `web_events`: every stitched event of those days (a
    literal first day: older row groups are skipped), with `where` added to its filter.
    The new-web-events path of the daily tables. -#}
{% macro new_web_day_events_ctes(first_day, where='true') -%}
{{ new_web_days_cte() }},

web_events as (
    select stitched.*
    from {{ ref('int_events_stitched') }} as stitched
    inner join new_web_days
        on stitched.customer_id = new_web_days.customer_id
        and cast(stitched.known_at as date) = new_web_days.activity_date
    where stitched.known_at >= cast({{ first_day }} as timestamp) and {{ where }}
)
{%- endmacro %}


{#- The first of the new web days, a date literal: filtering the stitched events'
    known_at and the built rows' activity_date by it skips the row groups of older
    days by their min/max (new rows are appended after the old ones). -#}
{% macro first_new_web_day() -%}
    {%- set stitched = ref('int_events_stitched') -%}
    {{ query_literal('select min(cast(known_at as date)) from ' ~ stitched
                     ~ ' where _built_at > ' ~ customer_watermark()
                     ~ ' and customer_id is not null', stitched) }}
{%- endmacro %}


{#- Post-hook of the daily models (unique key customer and day): a customer recomputed
    whole on this run carries a tombstone (date null, see touched_tombstones); its rows
    older than the tombstone are days it no longer has (the days it has were replaced by
    the insert). They go, then the tombstones. -#}
{% macro delete_replaced_days(column='activity_date') -%}
    {#- rendered after the insert: without tombstones (a run of new web events only)
        there is nothing to look for, and the join below would read the whole table -#}
    {%- set tombstones = run_query('select count(*) from ' ~ this ~ ' where ' ~ column
                                   ~ ' is null').rows[0][0] if execute and is_incremental()
                         else 0 -%}
    {%- if tombstones > 0 -%}
    delete from {{ this }}
    where {{ column }} is not null
        and exists (
            select 1 from {{ this }} as tombstone
            where tombstone.{{ column }} is null
                and tombstone.customer_id = {{ this }}.customer_id
                and tombstone._built_at > {{ this }}._built_at
        );
    delete from {{ this }} where {{ column }} is null
    {%- endif -%}
{%- endmacro %}


{#- int_customers_unified: true when the CRM landed nothing since the table was built
    and the deletion list is the one it was built with (column _deletion_list). -#}
{% macro customers_unchanged_but_new_web_events() -%}
    {%- if not execute or not is_incremental() -%}
        {{ return(false) }}
    {%- endif -%}
    {{ require_columns(this, ['_deletion_list', '_built_at']) }}
    {%- set deletions = ref('gdpr_deletions') -%}
    {%- set q -%}
        select
            not exists (
                select 1 from {{ source('crm', 'customers') }}
                where _landed_at > {{ customer_watermark() }}
            )
            and (select count(distinct _deletion_list) from {{ this }}) = 1
            and (select min(_deletion_list) from {{ this }}) = (
                select cast(count(*) as {{ dbt.type_string() }}) || ':'
                    || cast(coalesce(sum({{ key_hash('customer_id') }}), 0)
                            as {{ dbt.type_string() }})
                from {{ deletions }}
            )
    {%- endset -%}
    {{ return(run_query(q).rows[0][0]) }}
{%- endmacro %}


{#- A condition: every web row staged since `since` is a new row landed since, and no
    base_web__events run since reclassified rows landed before (restaging_log): what
    was built by then still holds, and the rows staged since only add to it. -#}
{% macro only_new_web_rows_since(since) -%}
    not exists (
        select 1 from {{ ref('base_web__events') }}
        where _staged_at > {{ since }} and _landed_at <= {{ since }})
    and not exists (
        select 1 from {{ restaging_log() }}
        where model_name = 'base_web__events' and restaged_at > {{ since }})
{%- endmacro %}


{#- True when all that was staged since this model's last build is new web rows
    (only_new_web_rows_since) and no base row was deleted since: then a model keyed by
    anonymous id can merge the new rows into its rows. Decided when the model runs. -#}
{% macro appended_web_rows_only(full_recompute) -%}
    {%- if not execute or not is_incremental() or full_recompute -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set result = run_query(
        'select ' ~ only_new_web_rows_since(customer_watermark())).rows[0][0] -%}
    {%- if result -%}
        {%- do log(this.identifier ~ ": only new web events since the last build,"
                   ~ " merging them into what was built", info=false) -%}
    {%- endif -%}
    {{ return(result) }}
{%- endmacro %}
