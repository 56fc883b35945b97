{#- The current lifecycle stage of each customer known by the as-of date: the stage,
    the stage before it and the day it was entered (logic and rules:
    macros/features/user_lifecycle.sql). user_lifecycle adds the as-of columns.

    Incremental by customer. A stage changes only on an activity day or on a day a
    threshold is crossed, so a run recomputes the whole timeline of
    - the customers with staged rows changed since the last build (incremental_customers),
    - the customers with new or changed CRM rows,
    - the customers with such a day between the previous as-of date and this one
      (lifecycle_due_customers), and those no longer known (GDPR deletions);
    everyone when the as-of date moves back, the lifecycle vars change or the staged
    tables cannot vouch (customers_need_full_recompute). -#}
{{ config(
    materialized=keyed_incremental(),
    unique_key='customer_id',
    incremental_strategy='delete+insert',
    on_schema_change='fail',
    post_hook="{{ delete_tombstones('stage_entered_date') }}",
) }}

-- depends_on: {{ ref('base_web__events') }}
-- depends_on: {{ ref('int_anonymous_ids_stitched') }}
-- depends_on: {{ ref('base_esp__email_events') }}
-- depends_on: {{ ref('base_shop__orders') }}
-- depends_on: {{ source('crm', 'customers') }}

{%- set as_of = as_of_date() %}
{%- set settings = lifecycle_settings() %}
{%- set full_recompute = customers_need_full_recompute() %}
{%- if is_incremental() and execute and not full_recompute %}
    {%- set q -%}
        select
            max(_as_of_date) as previous_as_of,
            {{ as_of }} as as_of,
            count(distinct _settings) = 1 and min(_settings) = '{{ settings }}' as same_settings
        from {{ this }}
    {%- endset -%}
    {%- set state = run_query(q).rows[0] %}
    {%- set previous_as_of = state[0] %}
    {%- if previous_as_of is none or state[1] is none or state[1] < previous_as_of
           or not state[2] %}
        {%- set full_recompute = true %}
    {%- endif %}
{%- endif %}
{%- set incremental_run = is_incremental() and not full_recompute %}

with {{ touched_customers_cte(full_recompute) }},

lifecycle_touched as (
    select customer_id from touched
{%- if incremental_run %}
    union
    -- new or changed in the CRM (signup, unsubscribe)
    select {{ clean_text('customer_id') }} from {{ source('crm', 'customers') }}
    where _landed_at > {{ customer_watermark() }}
    union
    {{ lifecycle_due_customers("cast('" ~ previous_as_of ~ "' as date)", as_of) }}
    union
    -- no longer known (a GDPR deletion): their rows go
    select customer_id from {{ this }}
    where customer_id not in (select customer_id from {{ ref('int_customers_unified') }})
{%- endif %}
),

current_stage as (
    {%- if incremental_run %}
    {{ lifecycle_current('(' ~ lifecycle_changes_as_of(as_of, 'lifecycle_touched') ~ ') as changes') }}
    {%- else %}
    {{ lifecycle_current('(' ~ lifecycle_changes_as_of(as_of) ~ ') as changes') }}
    {%- endif %}
),

final as (
    select
        customer_id,
        lifecycle_stage,
        previous_stage,
        stage_entered_date,
        {{ as_of }} as _as_of_date,
        '{{ settings }}' as _settings,
        {{ dbt.current_timestamp() }} as _built_at
    from current_stage
    {%- if is_incremental() %}
    union all
    -- tombstones: a touched customer no longer known replaces its old row, then the
    -- post-hook deletes it
    select customer_id, null, null, cast(null as date), {{ as_of }}, '{{ settings }}',
        {{ dbt.current_timestamp() }}
    from lifecycle_touched
    {%- endif %}
)

select * from final
