{#- Parsing of raw text values. Each returns null when the value cannot be parsed, so
    a staging model can tell "empty" (raw is null) from "bad" (raw set, parsed null).
    Engine-specific SQL sits behind adapter.dispatch; default__ is DuckDB's. -#}

{% macro clean_text(column) -%}
    nullif({{ trim_text(column) }}, '')
{%- endmacro %}


{#- trim(), with a fast path on DuckDB. Its trim() removes Unicode space separators
    (a no-break space too) from both ends, character by character: about 10 s of CPU per
    column on 121M raw events, and staging trims a dozen values per row. A value that is
    all ASCII (as many bytes as characters) and neither starts nor ends with a space is
    what trim() would return, so only the others are trimmed: 2.5x faster on event ids.
    The same result on every value (tests/trim_text_is_trim.sql). -#}
{% macro trim_text(column) -%}
    {{ return(adapter.dispatch('trim_text', 'customer_segments')(column)) }}
{%- endmacro %}

{% macro default__trim_text(column) -%}
    case
        when not starts_with({{ column }}, ' ') and not ends_with({{ column }}, ' ')
            and strlen({{ column }}) = length({{ column }})
            then {{ column }}
        else trim({{ column }})
    end
{%- endmacro %}

{% macro spark__trim_text(column) -%}
    trim({{ column }})
{%- endmacro %}


{% macro parse_timestamp_utc(column) -%}
    {{ return(adapter.dispatch('parse_timestamp_utc', 'customer_segments')(column)) }}
{%- endmacro %}

{% macro default__parse_timestamp_utc(column) -%}
    {#- An explicit offset (Z, +hh, +hh:mm, +hhmm) wins; otherwise the value is local
        time in var('source_timezone'). The result is a naive UTC timestamp.
        With source_timezone UTC (the default) one cast does both: the session time zone
        is UTC (profiles.yml), so a value without offset is read as UTC. -#}
    {%- if var('source_timezone') | upper == 'UTC' -%}
    timezone('UTC', try_cast({{ trim_text(column) }} as timestamptz))
    {%- else -%}
    case
        when regexp_matches(
            {{ trim_text(column) }}, '\d{2}:\d{2}(:\d{2}(\.\d+)?)?\s*([zZ]|[+-]\d{2}(:?\d{2})?)$'
        )
            then timezone('UTC', try_cast({{ trim_text(column) }} as timestamptz))
        else timezone(
            'UTC', timezone('{{ var("source_timezone") }}', try_cast({{ trim_text(column) }} as timestamp))
        )
    end
    {%- endif -%}
{%- endmacro %}


{#- dbt.safe_cast renders a plain cast on dbt-duckdb 1.11 (fails on bad values): ours is
    a real try_cast on every engine we support. -#}
{% macro try_cast(expression, data_type) -%}
    {{ return(adapter.dispatch('try_cast', 'customer_segments')(expression, data_type)) }}
{%- endmacro %}

{% macro default__try_cast(expression, data_type) -%}
    try_cast({{ expression }} as {{ data_type }})
{%- endmacro %}


{% macro parse_decimal(column) -%}
    {{ try_cast(clean_text(column), 'decimal(18, 2)') }}
{%- endmacro %}


{% macro parse_integer(column) -%}
    {{ try_cast(clean_text(column), dbt.type_bigint()) }}
{%- endmacro %}


{% macro parse_date(column) -%}
    {{ try_cast(clean_text(column), 'date') }}
{%- endmacro %}


{% macro parse_boolean(column) -%}
    case
        when lower({{ trim_text(column) }}) in ('true', 't', '1', 'yes', 'y') then true
        when lower({{ trim_text(column) }}) in ('false', 'f', '0', 'no', 'n') then false
    end
{%- endmacro %}


{% macro is_unparseable(raw, parsed) -%}
    ({{ clean_text(raw) }} is not null and {{ parsed }} is null)
{%- endmacro %}


{% macro row_hash(columns) -%}
    {{ return(adapter.dispatch('row_hash', 'customer_segments')(columns)) }}
{%- endmacro %}

{#- md5 of the columns, the same on every engine: for hashes that leave the warehouse
    (the export hash an ESP diff compares). -#}
{% macro portable_hash(columns) -%}
    {{ default__row_hash(columns) }}
{%- endmacro %}


{#- DuckDB's own 64-bit hash is 7x faster than md5 here; rows are only compared with
    rows of the same key, so a collision would need two versions of one key to collide. -#}
{% macro duckdb__row_hash(columns) -%}
    hash({% for c in columns %}{{ c }}{% if not loop.last %}, {% endif %}{% endfor %})
{%- endmacro %}

{% macro default__row_hash(columns) -%}
    md5(concat_ws(chr(31)
    {%- for c in columns %}, coalesce(cast({{ c }} as string), chr(0)){% endfor -%}
    ))
{%- endmacro %}


{#- The raw text of a row as a JSON object {"column": "value", ...}; columns are read
    from prefix ~ column. -#}
{% macro raw_record(columns, prefix='') -%}
    {{ return(adapter.dispatch('raw_record', 'customer_segments')(columns, prefix)) }}
{%- endmacro %}

{% macro default__raw_record(columns, prefix) -%}
    cast(to_json(struct_pack(
    {%- for c in columns %}"{{ c }}" := {{ prefix }}{{ c }}{% if not loop.last %}, {% endif %}{% endfor -%}
    , "_extra_fields" := _extra_fields)) as string)
{%- endmacro %}


{#- Spark: `timestamp` is an instant shown in the session time zone (UTC, profiles.yml),
    so it holds the same UTC wall time as DuckDB's naive UTC timestamp. -#}
{% macro spark__parse_timestamp_utc(column) -%}
    {%- if var('source_timezone') | upper == 'UTC' -%}
    try_cast(trim({{ column }}) as timestamp)
    {%- else -%}
    case
        when trim({{ column }}) rlike '\\d{2}:\\d{2}(:\\d{2}(\\.\\d+)?)?\\s*([zZ]|[+-]\\d{2}(:?\\d{2})?)$'
            then try_cast(trim({{ column }}) as timestamp)
        else to_utc_timestamp(try_cast(trim({{ column }}) as timestamp_ntz),
                              '{{ var("source_timezone") }}')
    end
    {%- endif -%}
{%- endmacro %}


{#- Spark: null fields kept (to_json drops them by default; DuckDB keeps them). -#}
{% macro spark__raw_record(columns, prefix) -%}
    to_json(named_struct(
    {%- for c in columns %}'{{ c }}', {{ prefix }}{{ c }}, {% endfor -%}
    '_extra_fields', _extra_fields), map('ignoreNullFields', 'false'))
{%- endmacro %}
