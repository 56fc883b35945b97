{#- The first event date a build of user_segment_events rewrites: the earliest as-of
    date of user_segments, the snapshot this build writes into user_segment_history
    (later snapshots compare with it, so from it on everything is redone). A literal
    when the model runs (query_literal). -#}
{% macro segment_events_since() -%}
    {%- set segments = ref('user_segments') -%}
    {{ return(query_literal('select min(as_of_date) from ' ~ segments, segments)) }}
{%- endmacro %}
