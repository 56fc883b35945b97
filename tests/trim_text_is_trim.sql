-- trim_text (macros/parsing/parse.sql) must return what trim() returns, on every kind
-- of value: its DuckDB fast path skips trim() for all-ASCII values without an outer
-- space. A row here is a value on which the two differ.
with cases as (
    select 'a' as v union all
    select ' a' union all
    select 'a ' union all
    select '  a b  ' union all
    select '' union all
    select ' ' union all
    select chr(160) || 'a' union all
    select 'a' || chr(160) union all
    select chr(12288) || 'x' || chr(12288) union all
    select chr(8239) || 'z' union all
    select 'é' union all
    select ' é ' union all
    select 'x' || chr(233) || ' ' union all
    select chr(9) || 'a' || chr(10) union all
    select cast(null as string)
)

select v from cases
where {{ trim_text('v') }} is distinct from trim(v)
