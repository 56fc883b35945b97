"""The same per-user feature set computed two ways straight from the landing zone: bare
DuckDB SQL (the engine's limit for this work) and plain pandas (what most teams would
otherwise write). The benchmark times both and checks they agree.

The feature set is the core of the marts, kept simple enough to write by hand:
per customer, completed orders (count, revenue, first and last order, recency in
days as of the newest order), web events (count, active days, add-to-carts, last
event) and email events (sends, opens, clicks). Rows are deduplicated by id; rows
whose id, customer, time or amount do not parse are left out, the same way in both.
Of rows sharing an id, the one with the largest (newest) version wins: for orders the
largest updated_at (then ordered_at, revenue), for events the largest event_at (then
type, customer), compared as text.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

FEATURES = ["customer_id", "orders", "revenue", "first_order_at", "last_order_at",
            "recency_days", "events", "active_days", "add_to_carts", "last_event_at",
            "sends", "opens", "clicks"]


def _glob(landing: Path, source: str, ext: str) -> str:
    return str(landing / source / f"*.{ext}")


def _newest(rows: str, key: str, columns: list[str], order: list[str]) -> str:
    """CTEs `{rows}_repeats` and `{rows}_newest`: one row per key of CTE `rows`, the one
    with the largest `order` values compared as text (missing lowest).

    Most keys occur once. A hash aggregate of 64-bit key hashes finds the few that may
    repeat (a collision only sends a unique key the exact way), only those rows go
    through the exact arg_max, and every other row streams straight on. Much faster,
    and in far less memory, than an arg_max over every row."""
    cols = ", ".join(columns)
    packed = ", ".join(f"{c} := {c}" for c in columns)
    ordered = ", ".join(f"k{i} := coalesce({c}, '')" for i, c in enumerate(order))
    return f"""
    {rows}_repeats as (
        select hash({key}) as h from {rows} group by 1 having count(*) > 1
    ),
    {rows}_newest as not materialized (
        select {cols} from {rows}
        where hash({key}) not in (select h from {rows}_repeats)
        union all
        select {", ".join(f"v.{c}" for c in columns)} from (
            select arg_max(struct_pack({packed}), struct_pack({ordered})) as v
            from {rows}
            where hash({key}) in (select h from {rows}_repeats)
            group by {key}
        )
    ),"""


def duckdb_sql(landing: Path) -> str:
    orders = _glob(landing, "orders", "csv")
    events = _glob(landing, "events", "parquet")
    email = _glob(landing, "email_events", "parquet")
    return f"""
    with order_rows as not materialized (
        select order_id, customer_id, revenue, ordered_at, updated_at
        from read_csv('{orders}', all_varchar = true, header = true,
                      union_by_name = true, ignore_errors = true)
        where status = 'completed' and customer_id is not null and customer_id <> ''
    ),{_newest('order_rows', 'order_id', ['customer_id', 'revenue', 'ordered_at'],
              ['updated_at', 'ordered_at', 'revenue'])}
    orders as (
        select customer_id, try_cast(revenue as double) as revenue,
               try_cast(ordered_at as timestamptz) as ordered_at
        from order_rows_newest
    ),
    valid_orders as (
        select * from orders where revenue is not null and ordered_at is not null
    ),
    newest as (select max(ordered_at) as as_of from valid_orders),
    per_order as (
        select customer_id, count(*) as orders, sum(revenue) as revenue,
               min(ordered_at) as first_order_at, max(ordered_at) as last_order_at
        from valid_orders group by customer_id
    ),
    event_rows as not materialized (
        select event_id, customer_id, event_type, event_at
        from read_parquet('{events}', union_by_name = true)
        where customer_id is not null
    ),{_newest('event_rows', 'event_id', ['customer_id', 'event_type', 'event_at'],
              ['event_at', 'event_type', 'customer_id'])}
    events as (
        select customer_id, event_type, try_cast(event_at as timestamptz) as event_at
        from event_rows_newest
    ),
    per_day as (
        -- active days: one row per customer and UTC day first, then per customer (a
        -- count(distinct) beside other aggregates makes DuckDB buffer every event)
        select customer_id, cast(timezone('UTC', event_at) as date) as day,
               count(*) as events,
               count(*) filter (where event_type = 'add_to_cart') as add_to_carts,
               max(event_at) as last_event_at
        from events where event_at is not null group by all
    ),
    per_event as (
        select customer_id, sum(events) as events, count(*) as active_days,
               sum(add_to_carts) as add_to_carts, max(last_event_at) as last_event_at
        from per_day group by customer_id
    ),
    email_rows as not materialized (
        select email_event_id, customer_id, event_type
        from read_parquet('{email}', union_by_name = true)
        where customer_id is not null
    ),{_newest('email_rows', 'email_event_id', ['customer_id', 'event_type'],
              ['event_type', 'customer_id'])}
    email as (
        select customer_id, event_type
        from email_rows_newest
    ),
    per_email as (
        select customer_id,
               count(*) filter (where event_type = 'sent') as sends,
               count(*) filter (where event_type = 'open') as opens,
               count(*) filter (where event_type = 'click') as clicks
        from email group by customer_id
    ),
    customers as (
        select customer_id from per_order union select customer_id from per_event
        union select customer_id from per_email
    )
    select c.customer_id,
           coalesce(o.orders, 0) as orders, coalesce(o.revenue, 0) as revenue,
           timezone('UTC', o.first_order_at) as first_order_at,
           timezone('UTC', o.last_order_at) as last_order_at,
           date_diff('second', o.last_order_at, (select as_of from newest)) // 86400
               as recency_days,
           coalesce(e.events, 0) as events, coalesce(e.active_days, 0) as active_days,
           coalesce(e.add_to_carts, 0) as add_to_carts,
           timezone('UTC', e.last_event_at) as last_event_at,
           coalesce(m.sends, 0) as sends, coalesce(m.opens, 0) as opens,
           coalesce(m.clicks, 0) as clicks
    from customers c
    left join per_order o using (customer_id)
    left join per_event e using (customer_id)
    left join per_email m using (customer_id)
    """


def run_duckdb(landing: Path, out: Path, threads: int = 2, memory_limit: str = "8GB") -> int:
    """Write the features to Parquet; return the number of customers."""
    import duckdb

    con = duckdb.connect(config={"threads": threads, "memory_limit": memory_limit,
                                 "preserve_insertion_order": False})
    con.execute("set TimeZone = 'UTC'")
    con.execute(f"copy ({duckdb_sql(landing)}) to '{out}' (format parquet)")
    return con.execute(f"select count(*) from read_parquet('{out}')").fetchone()[0]


def _ts(series: pd.Series) -> pd.Series:
    return pd.to_datetime(series, utc=True, errors="coerce", format="ISO8601")


def _first_by(frame: pd.DataFrame, key: str, by: list[str]) -> pd.DataFrame:
    """One row per key: the one with the largest `by` values compared as text, missing
    values lowest (SQL's arg_max over coalesce(x, ''))."""
    ordered = frame.sort_values([key, *by], ascending=[True] + [False] * len(by),
                                na_position="last")
    return ordered.drop_duplicates(key)


def run_pandas(landing: Path, out: Path) -> int:
    order_files = sorted((landing / "orders").glob("*.csv"))
    orders = pd.concat([pd.read_csv(f, dtype=str, keep_default_na=False, na_values=[""],
                                    on_bad_lines="skip")
                        for f in order_files], ignore_index=True)
    orders = orders[(orders.status == "completed") & orders.customer_id.notna()]
    orders = _first_by(orders, "order_id", ["updated_at", "ordered_at", "revenue"])
    orders = orders.assign(revenue=pd.to_numeric(orders.revenue, errors="coerce"),
                           ordered_at=_ts(orders.ordered_at))
    orders = orders.dropna(subset=["revenue", "ordered_at"])
    as_of = orders.ordered_at.max()
    per_order = orders.groupby("customer_id").agg(
        orders=("order_id", "size"), revenue=("revenue", "sum"),
        first_order_at=("ordered_at", "min"), last_order_at=("ordered_at", "max"))
    per_order["recency_days"] = ((as_of - per_order.last_order_at).dt.total_seconds()
                                 // 86400).astype("int64")

    events = pd.concat([pd.read_parquet(f, columns=["event_id", "customer_id", "event_type",
                                                    "event_at"])
                        for f in sorted((landing / "events").glob("*.parquet"))],
                       ignore_index=True)
    events = _first_by(events[events.customer_id.notna()], "event_id",
                       ["event_at", "event_type", "customer_id"])
    events = events.assign(event_at=_ts(events.event_at)).dropna(subset=["event_at"])
    events["day"] = events.event_at.dt.tz_convert("UTC").dt.floor("D")
    events["is_cart"] = events.event_type == "add_to_cart"
    per_event = events.groupby("customer_id").agg(
        events=("event_id", "size"), active_days=("day", "nunique"),
        add_to_carts=("is_cart", "sum"), last_event_at=("event_at", "max"))

    email = pd.concat([pd.read_parquet(f, columns=["email_event_id", "customer_id",
                                                   "event_type"])
                       for f in sorted((landing / "email_events").glob("*.parquet"))],
                      ignore_index=True)
    email = _first_by(email[email.customer_id.notna()], "email_event_id",
                      ["event_type", "customer_id"])
    per_email = pd.crosstab(email.customer_id, email.event_type).reindex(
        columns=["sent", "open", "click"], fill_value=0).rename(
        columns={"sent": "sends", "open": "opens", "click": "clicks"})

    out_frame = per_order.join(per_event, how="outer").join(per_email, how="outer")
    for col in ("orders", "revenue", "events", "active_days", "add_to_carts", "sends",
                "opens", "clicks"):
        out_frame[col] = out_frame[col].fillna(0)
    for col in ("first_order_at", "last_order_at", "last_event_at"):
        out_frame[col] = out_frame[col].dt.tz_convert("UTC").dt.tz_localize(None)
    out_frame = out_frame.reset_index(names="customer_id")[FEATURES]
    out_frame.to_parquet(out, index=False)
    return len(out_frame)


def compare(a: Path, b: Path) -> list[str]:
    """Differences between two feature files (empty: the same numbers)."""
    x = pd.read_parquet(a).set_index("customer_id").sort_index()
    y = pd.read_parquet(b).set_index("customer_id").sort_index()
    problems = []
    if not x.index.equals(y.index):
        problems.append(f"customers differ: {len(x.index.symmetric_difference(y.index))}")
        common = x.index.intersection(y.index)
        x, y = x.loc[common], y.loc[common]
    for col in FEATURES[1:]:
        xs, ys = x[col], y[col]
        if col.endswith("_at"):
            same = (pd.to_datetime(xs) == pd.to_datetime(ys)) | (xs.isna() & ys.isna())
        else:
            xs, ys = pd.to_numeric(xs).astype("float64"), pd.to_numeric(ys).astype("float64")
            same = ((xs - ys).abs() <= 1e-6 * ys.abs().clip(lower=1)) | (xs.isna() & ys.isna())
        if not same.all():
            problems.append(f"{col}: {int((~same).sum())} customers differ")
    return problems
