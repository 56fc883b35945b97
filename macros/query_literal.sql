{#- `query_literal(query, relation)`: the one value of a scalar query (one row, one
    column), written into the SQL as a typed literal when the model or test runs:
    `cast('2026-10-07' as DATE)`. Before that (parsing, a unit test, or while
    `relation`, the table the query reads, does not exist yet) the query itself as a
    scalar subquery.

    Why: engines plan `column > (select max(...) from t)` as a join of every row with
    the subquery's one row. DuckDB then cannot prune row groups by their min/max, and a
    GROUP BY above the join stops folding rows early: user_engagement at 100M events
    spilled 6 GB and took 45 s against a subquery, 23 s against the literal; a
    "since the last build" filter reads every row group instead of the new ones.

    The text round trip is exact (a timestamp to the microsecond), on DuckDB and Spark. -#}
{% macro query_literal(query, relation) -%}
    {%- if not execute -%}
        {{ return('(' ~ query ~ ')') }}
    {%- endif -%}
    {#- a unit test reads its fixtures, not the tables: a ref there still names the real
        table (dbt swaps in the fixture in the SQL text), so nothing may be looked up -#}
    {%- if model is not defined or model.resource_type == 'unit_test'
           or relation is none or relation.identifier is none -%}
        {{ return('(' ~ query ~ ')') }}
    {%- endif -%}
    {%- if adapter.get_relation(
            database=relation.database, schema=relation.schema,
            identifier=relation.identifier) is none -%}
        {{ return('(' ~ query ~ ')') }}
    {%- endif -%}
    {%- set result = run_query(
        'select cast(v as ' ~ dbt.type_string() ~ '), typeof(v) from (' ~ query
        ~ ') as scalar_query(v)') -%}
    {%- if result.rows | length != 1 -%}
        {{ exceptions.raise_compiler_error(
            'query_literal: expected one row, got ' ~ (result.rows | length) ~ ': ' ~ query) }}
    {%- endif -%}
    {%- set text, type = result.rows[0][0], result.rows[0][1] -%}
    {%- if text is none -%}
        {{ return('cast(null as ' ~ type ~ ')') }}
    {%- endif -%}
    {{ return("cast('" ~ (text | replace("'", "''")) ~ "' as " ~ type ~ ")") }}
{%- endmacro %}
