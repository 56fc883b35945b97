{#- Whether this run must compute the point-in-time training examples, i.e. whether
    the churn and value fits may refit. They are the costliest features (every feature
    at two past cutoffs); between refits (var ml_refit_every_days) the fits keep their
    model and never read new examples, so int_ml_training_examples keeps its rows.
    Due when any of:
      - a full refresh, the first build, or ml_refit_every_days = 0 (refit every run);
      - the stored examples were made with other settings (horizon, sample cap, seed);
      - a fit table is missing, or is not one accepted fit (rejected and rule-based
        fits retry on every run, as customer_segments.ml.runs.reusable_fit does);
      - the accepted fit is ml_refit_every_days or more older than the as-of date, or
        newer than it (an as_of var moved back).
    When the examples are kept, the fits read the very rows of their last fit and keep
    their model (same inputs); a new code version refits on those rows. -#}
{% macro ml_examples_due() -%}
    {%- if not execute or not is_incremental() or flags.FULL_REFRESH -%}
        {{ return(true) }}
    {%- endif -%}
    {%- set every = var('ml_refit_every_days') | int -%}
    {%- if every <= 0 -%}
        {{ return(true) }}
    {%- endif -%}
    {%- set columns = adapter.get_columns_in_relation(this) | map(attribute='name')
                      | map('lower') | list -%}
    {%- if 'examples_settings' not in columns -%}
        {{ return(true) }}
    {%- endif -%}
    {%- set stored = run_query("select distinct examples_settings from " ~ this) -%}
    {%- if stored.rows | length != 1 or stored.rows[0][0] != ml_examples_settings() -%}
        {{ return(true) }}
    {%- endif -%}
    {%- for name in ['ml_churn_fit', 'ml_value_fit'] -%}
        {%- set node = graph.nodes.get('model.' ~ project_name ~ '.' ~ name) -%}
        {%- set fit = adapter.get_relation(database=node.database, schema=node.schema,
                                           identifier=node.alias or node.name) -%}
        {%- if fit is none -%}
            {{ return(true) }}
        {%- endif -%}
        {%- set check -%}
            select
                count(*) = 1
                and min(fit.status) = 'accepted'
                and max({{ days_between('fit.as_of_date', 'now.as_of') }}) >= 0
                and max({{ days_between('fit.as_of_date', 'now.as_of') }}) < {{ every }}
            from {{ fit }} as fit
            cross join (select {{ as_of_date() }} as as_of) as now
        {%- endset -%}
        {%- set current = run_query(check) -%}
        {%- if not current.rows[0][0] -%}
            {{ return(true) }}
        {%- endif -%}
    {%- endfor -%}
    {{ return(false) }}
{%- endmacro %}


{#- The settings the training examples depend on beyond the feature code: stored with
    them, so changing one recomputes them. -#}
{% macro ml_examples_settings() -%}
    {{- 'horizon=' ~ var('churn_horizon_days') ~ ';max_fit_rows=' ~ var('ml_max_fit_rows')
        ~ ';seed=' ~ var('ml_random_state') -}}
{%- endmacro %}
