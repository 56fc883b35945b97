{#- `{{ run_after('other_model') }}` in a large model: do not start it before
    `other_model` is built, though it does not read it. A scheduling edge only, for the
    embedded engine: at 2 dbt threads two large statements side by side share one
    DuckDB's cores and memory_limit, and spill and contend more than they gain.
    Measured at 100M events (2 cores, 5GB), `dbt run --full-refresh` of the two
    large staging models: side by side 402 s (785 s of CPU), one after the other
    325 s (645 s). The small models, the tests and the Python models still run beside
    them. The edges chain the large SQL models of the build (see README "Performance");
    `heavy_models_one_at_a_time: false` drops them (an engine with more cores or memory
    may prefer the overlap); Spark schedules its own work and never gets them.
    A failure upstream skips the models after it, as for any edge: here they feed the
    same marts anyway. -#}
{% macro run_after(model_name) -%}
    {#- not in a unit test: its model reads only the inputs the test gives -#}
    {%- if var('heavy_models_one_at_a_time', true) and target.type == 'duckdb'
          and model.resource_type != 'unit_test' -%}
/* runs after {{ ref(model_name) }} (scheduling only, see the macro run_after) */
    {%- endif -%}
{%- endmacro %}
