{#- `with x as {{ inline_cte() }} (...)`: ask the engine to inline a CTE that is read
    more than once instead of buffering all its rows. DuckDB materializes such CTEs by
    default; for the base_ staging models that buffered the whole raw table twice (the
    renamed raw columns and the validated rows): at 10M email events 3.7 GB of spill and
    20 s, inlined 0.3 GB and 15 s, same rows; at 100M the buffers filled the disk. Each
    reference is a streaming scan of raw instead. Engines without the syntax get
    nothing (Spark inlines CTEs). -#}
{% macro inline_cte() -%}
    {{ return(adapter.dispatch('inline_cte', 'customer_segments')()) }}
{%- endmacro %}

{% macro default__inline_cte() -%}
{%- endmacro %}

{% macro duckdb__inline_cte() -%}
    not materialized
{%- endmacro %}
