{#- Generic tests of our own (no dbt_utils: the package hub is out of reach). -#}

{#- Rows for which the expression is not true. On a column, the expression is
    appended to the column name (`expression: ">= 0"`). -#}
{% test expression_is_true(model, expression, column_name=none) %}
    select *
    from {{ model }}
    where not ({% if column_name %}{{ column_name }} {% endif %}{{ expression }})
{% endtest %}


{% test unique_combination_of_columns(model, combination_of_columns) %}
    select
        {{ combination_of_columns | join(', ') }},
        count(*) as n_rows
    from {{ model }}
    group by {{ combination_of_columns | join(', ') }}
    having count(*) > 1
{% endtest %}


{#- Unique (one column or a combination) for the tables too large to check whole on
    every run: only the keys of rows changed since the newest whole build that passed
    finished (`changed`: _staged_at or _built_at). A duplicate needs a row changed since
    then: older rows were checked together by that build. A build that failed leaves its
    rows to be checked again.
    Plans for the same answer, picked by a count before the test runs:
    - few rows changed (the next-day run): the changed keys, joined to every row;
    - most rows changed (a full build, a full refresh): first one count of the distinct
      64-bit hashes of the key against the rows; only when some hash repeats, the hashes
      seen twice and then the exact keys of those (DuckDB skips both when none repeats:
      their inputs are empty). On the 100M benchmark's staged events 17 s -> 10 s;
    - most rows changed and `row_number` names an integer key column that numbers the
      rows within the other key columns (a landed file's rows), on DuckDB: a bitmap of
      the numbers seen per value and block of 65,536 numbers (`bitstring_agg`), whose
      set bits fall short of its rows only when a number repeats; then the exact keys
      of those blocks. A few thousand small groups instead of a hash table of every
      row: base_web__events 10.7 s -> 1.7 s. -#}
{% test unique_since_tested(model, column_name=none, combination_of_columns=none,
                            changed='_staged_at', row_number=none) %}
    {%- set cols = combination_of_columns or [column_name] %}
    {%- set key_list = cols | join(', ') %}
    {%- set not_null -%}
        {% for c in cols %}{{ c }} is not null{% if not loop.last %} and {% endif %}{% endfor %}
    {%- endset %}
    {#- a 64-bit number on every engine (hash / xxhash64 of the key columns), not the
        md5 text row_hash gives on Spark -#}
    {%- set hashed_key = key_hash(cols | join(', ')) %}
    {%- if unique_test_changed_share(model, changed) > 0.2 %}
    {%- if row_number and target.type == 'duckdb' %}
    {%- set groups = cols | reject('equalto', row_number) | list %}
    with number_blocks as (
        select
            {%- for c in groups %}
            {{ c }},
            {%- endfor %}
            {{ row_number }} >> 16 as number_block,
            count(*) as n_rows,
            bit_count(bitstring_agg(cast({{ row_number }} & 65535 as integer), 0, 65535))
                as n_numbers
        from {{ model }}
        where {{ not_null }}
        group by all
    ),

    repeated_blocks as (
        select * from number_blocks where n_rows > n_numbers
    )

    select
        {%- for c in cols %} rows.{{ c }},{% endfor %}
        count(*) as n_rows
    from {{ model }} as rows
    inner join repeated_blocks
        on {% for c in groups %}rows.{{ c }} = repeated_blocks.{{ c }}
        and {% endfor %}rows.{{ row_number }} >> 16 = repeated_blocks.number_block
    group by {% for c in cols %}rows.{{ c }}{% if not loop.last %}, {% endif %}{% endfor %}
    having count(*) > 1 and max(rows.{{ changed }}) >= {{ tested_until() }}
    {%- else %}
    with repeats as (
        select count(*) - count(distinct {{ hashed_key }}) as repeated_rows
        from {{ model }}
        where {{ not_null }}
    ),

    repeated_hashes as (
        select {{ hashed_key }} as key_hash
        from {{ model }}
        cross join repeats
        where repeats.repeated_rows > 0 and {{ not_null }}
        group by {{ hashed_key }}
        having count(*) > 1
    )

    select
        {{ key_list }},
        count(*) as n_rows
    from {{ model }}
    where {{ hashed_key }} in (select key_hash from repeated_hashes)
    group by {{ key_list }}
    having count(*) > 1 and max({{ changed }}) >= {{ tested_until() }}
    {%- endif %}
    {%- else %}
    with changed_keys as (
        select distinct {{ key_list }}
        from {{ model }}
        where {{ changed }} >= {{ tested_until() }}
    )
    {#- EXISTS, not an inner join: DuckDB moved the GROUP BY of a join below it, grouping
        all 122M rows of base_web__events (23 s, 3 GB spilled); the semi-join prunes
        row groups by the changed keys' range first (0.2 s) -#}
    select
        {%- for c in cols %} rows.{{ c }},{% endfor %}
        count(*) as n_rows
    from {{ model }} as rows
    where exists (
        select 1 from changed_keys
        where {% for c in cols %}rows.{{ c }} = changed_keys.{{ c }}{% if not loop.last %}
            and {% endif %}{% endfor %}
    )
    group by {% for c in cols %}rows.{{ c }}{% if not loop.last %}, {% endif %}{% endfor %}
    having count(*) > 1
    {%- endif %}
{% endtest %}


{#- The share of the model's rows changed since the last passing whole build (0 when
    not executing, or the table is empty). -#}
{% macro unique_test_changed_share(model, changed) -%}
    {%- if not execute -%}{{ return(0) }}{%- endif -%}
    {%- set counts = run_query(
        "select count(*), " ~ count_if(changed ~ " >= " ~ tested_until())
        ~ " from " ~ model) -%}
    {%- set total = counts.columns[0].values()[0] or 0 -%}
    {%- set recent = counts.columns[1].values()[0] or 0 -%}
    {{ return((recent / total) if total else 0) }}
{%- endmacro %}
