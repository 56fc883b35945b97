"""Import any plain transactions export onto the `orders` landing contract.

A YAML mapping (see mappings/online_retail.yml) names the export's columns. Line-item
exports (several rows per order) are summed per order; order exports pass through.
Nothing is filtered here: guest orders keep an empty customer id and cancellations a
`cancelled` status, so staging accounts for every one (quarantine or staged). The
import writes a report of what it read next to the orders file (`_<name>.report.json`,
which the landing step skips).
"""

from __future__ import annotations

import glob as globmod
import json
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import yaml

from .config import duckdb_connect


class ImportError_(RuntimeError):
    """The mapping or the input cannot be used; the message says why."""


@dataclass
class Mapping:
    order_id: str
    customer_id: str
    ordered_at: str
    amount: str | None = None  # one amount column, or quantity x unit_price
    quantity: str | None = None
    unit_price: str | None = None
    status: str | None = None
    status_map: dict[str, str] = field(default_factory=dict)
    cancel_order_id_prefix: str | None = None
    cancel_negative_quantity: bool = False
    category: str | None = None
    coupon_code: str | None = None
    discount: str | None = None
    currency: str | None = None  # a constant currency code for the whole export
    grain: str = "line_item"  # line_item | order
    timezone: str = "UTC"  # zone of timestamps that carry no offset
    timestamp_format: str | None = None  # strptime format when not ISO 8601
    customer_id_strip_suffix: str | None = None  # e.g. ".0" from a float-typed export
    csv_delimiter: str = ","
    encoding: str = "utf-8"


def load_mapping(path: Path) -> Mapping:
    try:
        doc = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ImportError_(f"{path}: cannot read mapping ({exc})") from exc
    cols = doc.get("columns") or {}
    cancel = doc.get("cancellation") or {}
    try:
        m = Mapping(
            order_id=cols["order_id"], customer_id=cols["customer_id"],
            ordered_at=cols["ordered_at"], amount=cols.get("amount"),
            quantity=cols.get("quantity"), unit_price=cols.get("unit_price"),
            status=cols.get("status"), status_map=doc.get("status_map") or {},
            cancel_order_id_prefix=cancel.get("order_id_prefix"),
            cancel_negative_quantity=bool(cancel.get("negative_quantity", False)),
            category=cols.get("category"), coupon_code=cols.get("coupon_code"),
            discount=cols.get("discount"), currency=doc.get("currency"),
            grain=doc.get("grain", "line_item"), timezone=doc.get("timezone", "UTC"),
            timestamp_format=doc.get("timestamp_format"),
            customer_id_strip_suffix=doc.get("customer_id_strip_suffix"),
            csv_delimiter=doc.get("csv_delimiter", ","), encoding=doc.get("encoding", "utf-8"),
        )
    except KeyError as exc:
        raise ImportError_(f"{path}: mapping needs columns.{exc.args[0]}") from exc
    if not m.amount and not (m.quantity and m.unit_price):
        raise ImportError_(f"{path}: map either columns.amount or columns.quantity and "
                           "columns.unit_price")
    if m.grain not in ("line_item", "order"):
        raise ImportError_(f"{path}: grain must be line_item or order, not {m.grain!r}")
    return m


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def import_transactions(input_glob: str, m: Mapping, out_dir: Path, name: str = "import"
                        ) -> dict:
    """Write `<out_dir>/orders/<name>.parquet` and its report; return the report."""
    files = sorted(globmod.glob(input_glob)) if any(c in input_glob for c in "*?[") \
        else [input_glob]
    files = [f for f in files if Path(f).is_file()]
    if not files:
        raise ImportError_(f"{input_glob}: no input files")
    is_parquet = all(f.lower().endswith((".parquet", ".parq")) for f in files)
    flist = "[" + ", ".join(_lit(f) for f in files) + "]"
    reader = (f"read_parquet({flist}, union_by_name=true)" if is_parquet else
              f"read_csv({flist}, header=true, all_varchar=true, union_by_name=true, "
              f"delim={_lit(m.csv_delimiter)}, encoding={_lit(m.encoding)}, sample_size=-1)")
    con = duckdb_connect()
    con.execute("set TimeZone = 'UTC'")
    try:
        present = {r[0] for r in con.execute(f"describe select * from {reader}").fetchall()}
    except duckdb.Error as exc:
        raise ImportError_(f"{input_glob}: cannot be read ({exc})") from exc
    needed = [c for c in (m.order_id, m.customer_id, m.ordered_at, m.amount, m.quantity,
                          m.unit_price, m.status, m.category, m.coupon_code, m.discount) if c]
    missing = [c for c in needed if c not in present]
    if missing:
        raise ImportError_(f"{input_glob}: mapped column(s) not in the files: "
                           f"{', '.join(missing)} (files have: {', '.join(sorted(present))})")

    def text(col: str | None) -> str:
        return f"nullif(trim(cast({_q(col)} as varchar)), '')" if col else "null"

    cust = text(m.customer_id)
    if m.customer_id_strip_suffix:
        suffix = m.customer_id_strip_suffix
        cust = (f"case when ends_with({cust}, {_lit(suffix)}) then "
                f"left({cust}, length({cust}) - {len(suffix)}) else {cust} end")
    ts_raw = text(m.ordered_at)
    parsed = (f"try_strptime({ts_raw}, {_lit(m.timestamp_format)})" if m.timestamp_format
              else f"try_cast({ts_raw} as timestamp)")
    ts_utc = f"timezone('UTC', timezone({_lit(m.timezone)}, {parsed}))"
    if m.amount:
        amount = f"try_cast({text(m.amount)} as double)"
        qty = "null"
    else:
        qty = f"try_cast({text(m.quantity)} as double)"
        amount = f"{qty} * try_cast({text(m.unit_price)} as double)"
    cancel_parts = []
    if m.cancel_order_id_prefix:
        cancel_parts.append(f"starts_with({text(m.order_id)}, {_lit(m.cancel_order_id_prefix)})")
    if m.cancel_negative_quantity and m.quantity:
        cancel_parts.append(f"{qty} < 0")
    is_cancel = " or ".join(cancel_parts) or "false"
    status = text(m.status)
    if m.status_map:
        cases = " ".join(f"when lower({status}) = {_lit(str(k).lower())} then {_lit(v)}"
                         for k, v in m.status_map.items())
        status = f"case {cases} else lower({status}) end"
    con.execute(f"""
        create table lines as
        select
            {text(m.order_id)} as order_id,
            {cust} as customer_id,
            {ts_raw} as ts_raw,
            {ts_utc} as ts_utc,
            {amount} as amount,
            {qty} as quantity,
            ({is_cancel}) as is_cancel,
            {status} as status,
            {text(m.category)} as category,
            {text(m.coupon_code)} as coupon_code,
            try_cast({text(m.discount)} as double) as discount
        from {reader}
    """)
    # One order per order id. Amount: the sum of its lines (absolute for cancellations,
    # whose lines are negative); an order with a non-numeric line keeps that visible.
    con.execute("""
        create table orders as
        select
            order_id,
            min(customer_id) as customer_id,
            count(distinct customer_id) as customer_count,
            case when count(ts_utc) = count(*)
                 then strftime(min(ts_utc), '%Y-%m-%dT%H:%M:%SZ')
                 else min(ts_raw) end as ordered_at,
            coalesce(
                case when bool_or(is_cancel) then 'cancelled' end,
                min(status),
                'completed'
            ) as status,
            case when count(amount) < count(*) then 'non-numeric line amount'
                 when bool_or(is_cancel) then cast(round(abs(sum(amount)), 2) as varchar)
                 else cast(round(sum(amount), 2) as varchar) end as revenue,
            cast(round(sum(coalesce(discount, 0)), 2) as varchar) as discount,
            min(coupon_code) as coupon_code,
            cast(cast(abs(sum(quantity)) as bigint) as varchar) as item_count,
            mode(category) as category,
            count(*) as line_count
        from lines
        where order_id is not null
        group by order_id
    """)
    facts = con.execute("""
        select
            (select count(*) from lines),
            (select count(distinct customer_id) from lines),
            (select count(*) from lines where customer_id is null),
            (select count(*) from lines where is_cancel),
            (select count(*) from lines where order_id is null),
            (select count(*) from lines where amount is null),
            (select count(*) from lines where ts_utc is null),
            (select count(*) from orders),
            (select count(*) from orders where customer_id is null),
            (select count(*) from orders where status = 'cancelled'),
            (select count(*) from orders where customer_count > 1)
    """).fetchone()
    keys = ["line_items_read", "distinct_customer_ids", "guest_line_items",
            "cancellation_line_items", "line_items_without_order_id",
            "line_items_non_numeric", "line_items_unparseable_time", "orders_written",
            "guest_orders", "cancelled_orders", "orders_with_several_customers"]
    report = {"input": input_glob, "files_read": len(files), **dict(zip(keys, facts,
                                                                      strict=True))}
    if report["line_items_without_order_id"]:
        # such lines cannot form an order: write them as their own rows so staging
        # quarantines them (missing_required_field) instead of losing them
        con.execute("""
            insert into orders
            select null, customer_id, 0, ts_raw, coalesce(status, 'completed'),
                   cast(amount as varchar), null, coupon_code,
                   cast(cast(quantity as bigint) as varchar), category, 1
            from lines where order_id is null
        """)
    dest = Path(out_dir) / "orders"
    dest.mkdir(parents=True, exist_ok=True)
    target = dest / f"{name}.parquet"
    currency = _lit(m.currency) if m.currency else "null"
    con.execute(f"""
        copy (
            select order_id, customer_id, ordered_at, status, revenue, discount, coupon_code,
                   item_count, category, {currency} as currency, null as updated_at
            from orders order by ordered_at, order_id
        ) to {_lit(str(target))} (format parquet, compression zstd)
    """)
    report["orders_file"] = str(target)
    (dest / f"_{name}.report.json").write_text(json.dumps(report, indent=2))
    con.close()
    return report
