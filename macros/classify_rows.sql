{#-
    Classify every raw row of a source into exactly one status, so that
        raw rows = staged + duplicate + superseded + quarantined
    holds by construction and can be tested.

    Input: a CTE with the typed columns, `_reason_code` (null when the row passed the
    per-row checks), `_row_hash` (content of the raw row), `_source_file`, `_source_row`.
      key            natural key column
      version_key    expression naming the version of a row: rows sharing key and
                     version_key must be identical
      version_order  order-by list, newest version first ("latest version wins")

    Rules, in order:
      quarantined   the row failed a check (its reason code), or it reuses the key and
                    version of an earlier-landed row with different content
                    (duplicate_id_conflict: the first-landed row keeps the version)
      staged        the newest valid version of its key
      duplicate     same key and version as the staged row (identical content)
      superseded    an older valid version of its key
-#}
{% macro classify_rows(from_cte, key, version_key, version_order) -%}
    {%- set valid_first -%}
        partition by ({{ key }} is not null and _reason_code is null), {{ key }}, {{ version_key }}
        order by _source_file, _source_row
    {%- endset %}
    checked as (
        select
            *,
            case
                when _reason_code is not null then _reason_code
                when _row_hash != first_value(_row_hash) over ({{ valid_first }})
                    then 'duplicate_id_conflict'
            end as _final_reason_code
        from {{ from_cte }}
    ),

    ranked as (
        select
            *,
            row_number() over (
                partition by (_final_reason_code is null), {{ key }}
                order by {{ version_order }}, _source_file desc, _source_row desc
            ) as _version_rank,
            first_value({{ version_key }}) over (
                partition by (_final_reason_code is null), {{ key }}
                order by {{ version_order }}, _source_file desc, _source_row desc
            ) as _newest_version_key
        from checked
    ),

    classified as (
        select
            *,
            case
                when _final_reason_code is not null then 'quarantined'
                when _version_rank = 1 then 'staged'
                when {{ version_key }} = _newest_version_key then 'duplicate'
                else 'superseded'
            end as _row_status
        from ranked
    )
{%- endmacro %}
