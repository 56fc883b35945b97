{#- The build log: one row per dbt invocation, written by the on-run-start and
    on-run-end hooks, so a later step (the export gate) can tell whether the newest
    build finished and passed. A build killed mid-way leaves finished_at null; a failed
    test or model leaves status 'error' with what failed in failed_nodes. -#}

{% macro build_log_relation() -%}
    {{ generate_schema_name('quality', none) }}.dbt_invocations
{%- endmacro %}


{% macro build_log_start() %}
    {{ return(adapter.dispatch('build_log_start', 'customer_segments')()) }}
{% endmacro %}

{% macro default__build_log_start() %}
    {%- if execute -%}
    create schema if not exists {{ generate_schema_name('quality', none) }};
    create table if not exists {{ build_log_relation() }} (
        invocation_id varchar,
        command varchar,
        invocation_status varchar,
        failed_nodes varchar,
        nodes_passed integer,
        nodes_warned integer,
        nodes_failed integer,
        nodes_skipped integer,
        started_at timestamp,
        finished_at timestamp
    );
    alter table {{ build_log_relation() }} add column if not exists is_whole_build boolean;
    insert into {{ build_log_relation() }} (invocation_id, command, invocation_status,
        started_at, is_whole_build)
    values ('{{ invocation_id }}', '{{ flags.WHICH }}', 'running', {{ dbt.current_timestamp() }},
        {{ is_whole_build() }});
    {%- endif -%}
{% endmacro %}


{#- A `dbt build` of the whole project (no --select, --exclude or --selector): every
    test ran. -#}
{% macro is_whole_build() -%}
    {%- set args = invocation_args_dict -%}
    {{- 'true' if flags.WHICH == 'build' and not args.get('select')
        and not args.get('exclude') and not args.get('selector') else 'false' -}}
{%- endmacro %}


{#- When the newest whole build that passed every test finished (a date long ago if
    none did): rows changed before then were tested by it or by an earlier one (a
    model's tests run after the model in the same build). The uniqueness tests of the
    largest tables check only the keys changed since. -#}
{% macro tested_until() -%}
    {%- set log = api.Relation.create(
        database=target.get('database'), schema=generate_schema_name('quality', none) | trim,
        identifier='dbt_invocations') -%}
    {{ query_literal(
        "select coalesce(max(finished_at), cast('1900-01-01' as timestamp)) from "
        ~ build_log_relation() ~ " where is_whole_build and invocation_status = 'success'",
        log) }}
{%- endmacro %}


{% macro build_log_end(results) %}
    {{ return(adapter.dispatch('build_log_end', 'customer_segments')(results)) }}
{% endmacro %}

{% macro build_log_counts(results) %}
    {%- set failed, warned, passed, skipped = [], [], [], [] -%}
    {%- for r in results -%}
        {%- set status = r.status | string | lower -%}
        {%- if status in ('error', 'fail', 'runtime error') -%}
            {%- do failed.append(r.node.resource_type ~ ' ' ~ r.node.name ~ ': '
                ~ (r.message or status) | string | replace("'", "''") | truncate(300)) -%}
        {%- elif status == 'warn' -%}
            {%- do warned.append(r.node.name) -%}
        {%- elif status == 'skipped' -%}
            {%- do skipped.append(r.node.name) -%}
        {%- else -%}
            {%- do passed.append(r.node.name) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return({'failed': failed, 'warned': warned, 'passed': passed, 'skipped': skipped}) }}
{% endmacro %}

{% macro default__build_log_end(results) %}
    {%- if execute -%}
    {%- set c = build_log_counts(results) -%}
    update {{ build_log_relation() }}
    set invocation_status = '{{ "error" if c.failed else "success" }}',
        failed_nodes = {% if c.failed %}'{{ c.failed | join("; ") }}'{% else %}null{% endif %},
        nodes_passed = {{ c.passed | length }},
        nodes_warned = {{ c.warned | length }},
        nodes_failed = {{ c.failed | length }},
        nodes_skipped = {{ c.skipped | length }},
        finished_at = {{ dbt.current_timestamp() }}
    where invocation_id = '{{ invocation_id }}';
    {%- endif -%}
{% endmacro %}


{#- Spark (parquet tables: no UPDATE, one statement per call): the log is append-only,
    a 'running' row at the start and the finished row at the end, both with the
    invocation id; readers take the newest row of each invocation. -#}
{% macro spark__build_log_start() %}
    {%- if execute -%}
    {%- do run_query("create schema if not exists " ~ generate_schema_name('quality', none)) -%}
    {%- do run_query("create table if not exists " ~ build_log_relation() ~ " (
        invocation_id string, command string, invocation_status string,
        failed_nodes string, nodes_passed int, nodes_warned int, nodes_failed int,
        nodes_skipped int, started_at timestamp, finished_at timestamp,
        is_whole_build boolean) using parquet") -%}
    {%- do run_query("insert into " ~ build_log_relation() ~ " values ('" ~ invocation_id
        ~ "', '" ~ flags.WHICH ~ "', 'running', null, null, null, null, null, "
        ~ dbt.current_timestamp() ~ ", null, " ~ is_whole_build() ~ ")") -%}
    {%- endif -%}
    select 1
{% endmacro %}

{% macro spark__build_log_end(results) %}
    {%- if execute -%}
    {%- set c = build_log_counts(results) -%}
    insert into {{ build_log_relation() }}
    select invocation_id, command, '{{ "error" if c.failed else "success" }}',
        {% if c.failed %}'{{ c.failed | join("; ") }}'{% else %}null{% endif %},
        {{ c.passed | length }}, {{ c.warned | length }}, {{ c.failed | length }},
        {{ c.skipped | length }}, started_at, {{ dbt.current_timestamp() }}, is_whole_build
    from {{ build_log_relation() }}
    where invocation_id = '{{ invocation_id }}' and finished_at is null
    {%- endif -%}
{% endmacro %}
