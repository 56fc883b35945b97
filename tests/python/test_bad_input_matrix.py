"""The bad-input matrix: every kind of bad row and bad file the landing contract knows,
plus empty and header-only files, wrong encodings, an unknown extra column, a column of
the wrong type, a file landed twice, mixed time zones and a 10x volume spike.

Each case either quarantines its rows with the documented reason, or stops with a
clear message naming the file; and every landed row is accounted for. The terminal
summary prints how many cases were tried and how many rows were lost (zero).
"""

from __future__ import annotations

import shutil

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from customer_segments import contract
from customer_segments.export import GateError, export
from customer_segments.land import LandingError, land

from .conftest import MATRIX, Build, run_dbt

pytestmark = pytest.mark.dbt

ORDER_HEADER = ("order_id,customer_id,ordered_at,status,revenue,discount,coupon_code,"
                "item_count,category,currency,updated_at")
DAY = "2026-09-20"


def _order(order_id: str, customer: str, ordered_at: str, revenue: str = "20.00",
           status: str = "completed") -> str:
    return f"{order_id},{customer},{ordered_at},{status},{revenue},0,,1,home,EUR,"


# rows crafted for the cases the generator does not plant, with the reason expected
def crafted_orders(customer: str) -> dict[str, tuple[str, str | None]]:
    return {
        "X-NONNUM": (_order("X-NONNUM", customer, f"{DAY}T08:00:00Z", "twelve"),
                     "non_numeric_amount"),
        "X-ZERO": (_order("X-ZERO", customer, f"{DAY}T08:00:00Z", "0.00"),
                   "non_positive_amount"),
        "X-BADTS": (_order("X-BADTS", customer, "yesterday"), "unparseable_timestamp"),
        "X-NEG": (_order("X-NEG", customer, f"{DAY}T08:00:00Z", "-5"), "negative_amount"),
        # mixed time zones in one column: all the same instant, 08:00 UTC
        "X-TZ-PLUS": (_order("X-TZ-PLUS", customer, f"{DAY}T10:00:00+02:00"), None),
        "X-TZ-MINUS": (_order("X-TZ-MINUS", customer, f"{DAY}T03:00:00-05:00"), None),
        "X-TZ-Z": (_order("X-TZ-Z", customer, f"{DAY}T08:00:00Z"), None),
        "X-TZ-NAIVE": (_order("X-TZ-NAIVE", customer, f"{DAY} 08:00:00"), None),
    }


def _record(case: str, kind: str, lost: int) -> None:
    MATRIX[case] = {"kind": kind, "rows_lost": lost}


@pytest.fixture(scope="module")
def matrix(generated, tmp_path_factory) -> Build:
    """The generated landing zone plus every zone-level bad input, landed and built
    once. The build fails (the volume spike), which is one of the expected outcomes."""
    root = tmp_path_factory.mktemp("matrix")
    landing = root / "landing"
    shutil.copytree(generated.landing, landing)
    customer = pd.read_parquet(generated.truth / "customers.parquet").customer_id.iloc[0]
    orders = landing / "orders"
    rows = crafted_orders(customer)
    (orders / "cases_rows.csv").write_text(
        ORDER_HEADER + "\n" + "\n".join(r for r, _ in rows.values()) + "\n")
    (orders / "cases_extra_column.csv").write_text(
        ORDER_HEADER + ",gift_wrap\n"
        + _order("X-EXTRA", customer, f"{DAY}T09:00:00Z") + ",yes\n")
    (orders / "cases_header_only.csv").write_text(ORDER_HEADER + "\n")
    (landing / "events" / "cases_empty.csv").write_text("")
    original = sorted(orders.glob("part-*.csv"))[0]
    shutil.copy(original, orders / f"zz_copy_of_{original.name}")
    # a 10x spike: the newest full day's events again, ten times, with new ids (a
    # session crossing midnight can leave a sliver of a day after it)
    last = generated.query("""
        with daily as (
            select cast(event_at as date) as d, count(*) as n
            from staging.stg_web__events group by 1
        )
        select event_id, customer_id, anonymous_id, event_type,
               strftime(event_at, '%Y-%m-%dT%H:%M:%SZ') as event_at, product_id, category,
               session_id
        from staging.stg_web__events
        where cast(event_at as date) = (
            select max(d) from daily where n >= 0.5 * (select median(n) from daily))""")
    cols = ["event_id", "customer_id", "anonymous_id", "event_type", "event_at",
            "product_id", "category", "session_id"]
    spike = pd.DataFrame([r for i in range(10) for r in
                          [(f"{r[0]}-spike{i}", *r[1:]) for r in last]], columns=cols)
    pq.write_table(pa.Table.from_pandas(spike, preserve_index=False),
                   landing / "events" / "cases_spike.parquet")
    db = root / "warehouse.duckdb"
    land(landing, db)
    result = run_dbt(db, root, "build", check=False)
    build = Build(root, landing, generated.truth, db, result)
    build.spike_rows = len(spike)
    build.original_copy = original.name
    return build


# ---------------------------------------------------------------- zone-level cases

PLANTED = sorted(set(contract.REASON_CODES) - {"non_positive_amount", "negative_amount",
                                               "non_numeric_amount"})


@pytest.mark.parametrize("reason", PLANTED)
def test_planted_bad_rows_are_quarantined_with_their_reason(matrix, generated, reason):
    truth = pd.read_parquet(generated.truth / "bad_rows.parquet")
    planted = set(map(tuple, truth[truth.reason_code == reason][
        ["source", "source_file", "source_row"]].to_numpy()))
    assert planted, f"the generator plants no {reason} rows"
    got = set(matrix.query("select source_name, source_file, source_row "
                           "from quality.quarantined_rows where reason_code = ?", [reason]))
    missing = planted - got
    assert not missing, list(missing)[:5]
    _record(f"row: {reason}", "row", len(missing))


@pytest.mark.parametrize("order_id", ["X-NONNUM", "X-ZERO", "X-BADTS", "X-NEG"])
def test_crafted_bad_values_are_quarantined(matrix, order_id):
    reason = crafted_orders("C")[order_id][1]
    got = matrix.query("select reason_code from quality.quarantined_rows "
                       "where source_file = 'orders/cases_rows.csv' and natural_key = ?",
                       [order_id])
    assert got == [(reason,)], got
    _record(f"row: {order_id} ({reason})", "row", 0 if got else 1)


def test_wrong_type_column_quarantines_not_crashes(matrix):
    bad = matrix.scalar("select count(*) from quality.quarantined_rows "
                        "where reason_code = 'non_numeric_amount' "
                        "and source_file = 'orders/cases_rows.csv'")
    assert bad == 1
    _record("column of the wrong type (revenue 'twelve')", "row", 1 - bad)


def test_mixed_time_zones_land_on_the_same_utc_instant(matrix):
    got = dict(matrix.query("select order_id, ordered_at from staging.stg_shop__orders "
                            "where order_id like 'X-TZ-%'"))
    assert len(got) == 4, got
    assert set(got.values()) == {pd.Timestamp(f"{DAY} 08:00:00").to_pydatetime()}, got
    _record("timestamps with mixed time zones", "row", 4 - len(got))


def test_an_unknown_extra_column_is_ignored_and_recorded(matrix):
    staged = matrix.scalar("select count(*) from staging.stg_shop__orders "
                           "where order_id = 'X-EXTRA'")
    unknown = matrix.scalar("select unknown_columns from raw._landed_files "
                            "where file_path = 'orders/cases_extra_column.csv'")
    assert staged == 1 and "gift_wrap" in str(unknown)
    _record("an extra unknown column", "file", 1 - staged)


def test_empty_and_header_only_files_land_zero_rows(matrix):
    rows = dict(matrix.query("select file_path, row_count from raw._landed_files "
                             "where file_path like '%cases_empty%' "
                             "or file_path like '%cases_header_only%'"))
    assert rows.get("orders/cases_header_only.csv") == 0, rows
    assert rows.get("events/cases_empty.csv", 0) == 0, rows
    _record("empty file", "file", 0)
    _record("file with only a header", "file", 0)


def test_a_file_landed_twice_stages_nothing_twice(matrix, generated):
    by_file = matrix.query(f"""
        select _source_file, _row_status, count(*) from staging.base_shop__orders
        where _source_file in ('orders/{matrix.original_copy}',
                               'orders/zz_copy_of_{matrix.original_copy}')
        group by all""")
    staged = sum(n for _, s, n in by_file if s == "staged")
    before = generated.scalar(f"""
        select count(*) from staging.base_shop__orders
        where _source_file = 'orders/{matrix.original_copy}' and _row_status = 'staged'""")
    assert staged == before, by_file
    assert matrix.scalar("select count(*) - count(distinct order_id) "
                         "from staging.stg_shop__orders") == 0
    _record("the same file landed twice", "file", before - staged)


def test_a_10x_volume_spike_fails_the_build_with_the_reason(matrix):
    assert matrix.result.returncode != 0
    assert "volume_within_error_bounds" in matrix.result.stdout
    checks = matrix.query("select check_status, check_message from quality.volume_checks "
                          "where source_name = 'events' and event_type = 'all' "
                          "and check_status = 'error'")
    assert len(checks) == 1 and "events all on" in checks[0][1], checks
    # the spike's rows are valid: staged, not lost
    spiked = matrix.scalar("select count(*) from staging.stg_web__events "
                           "where event_id like '%-spike%'")
    assert spiked == matrix.spike_rows
    _record("a 10x volume spike", "zone", matrix.spike_rows - spiked)


def test_the_failed_build_blocks_the_export(matrix, tmp_path):
    with pytest.raises(GateError) as err:
        export(matrix.db, tmp_path / "exports")
    text = str(err.value)
    assert "build" in text and "volume_within_error_bounds" in text
    assert "[ERROR] volume: events all on" in text
    assert not (tmp_path / "exports" / "LATEST").exists()


def test_every_landed_row_is_accounted_for(matrix):
    rows = matrix.query("select source_name, landed_rows, raw_rows, accounted_rows "
                        "from quality.source_reconciliation order by 1")
    lost = sum(landed - accounted for _, landed, _, accounted in rows)
    assert all(landed == raw == accounted for _, landed, raw, accounted in rows), rows
    assert lost == 0
    _record("reconciliation over the whole matrix zone", "zone", lost)


# ---------------------------------------------------------------- file-level cases

GOOD = "order_id,customer_id,ordered_at,revenue\nO1,C1,2024-01-01T00:00:00Z,10\n"
FILE_CASES = {
    "not CSV or Parquet": ("orders.json", b'{"a": 1}', "not a CSV or Parquet file"),
    "header not UTF-8 (UTF-16)": ("utf16.csv", GOOD.encode("utf-16"), "UTF-8"),
    "wrong encoding (Latin-1 body)": (
        "latin1.csv", "order_id,customer_id,ordered_at,revenue\nO2,Céline,2024-01-01,1\n"
        .encode("latin-1"), "UTF-8|encoding|utf-8"),
    "missing required column": ("bad.csv", b"order_id,ordered_at\nO1,2024-01-01\n",
                                "missing required column"),
    "duplicate column in header": (
        "dup.csv", b"order_id,order_id,customer_id,ordered_at,revenue\n1,1,C,2024,1\n",
        "duplicate column name"),
    "corrupt Parquet": ("broken.parquet", b"this is not parquet",
                        "not a readable Parquet file"),
    "row far wider than its header": (
        "wide.csv", ("order_id,customer_id,ordered_at,revenue\n"
                     + ",".join(["x"] * 40) + "\n").encode(), "(?i)wider|fields|columns"),
}


@pytest.mark.parametrize("case", sorted(FILE_CASES))
def test_a_bad_file_stops_the_landing_with_its_name(tmp_path, case):
    name, content, message = FILE_CASES[case]
    landing = tmp_path / "l"
    (landing / "orders").mkdir(parents=True)
    (landing / "orders" / "a_good.csv").write_text(GOOD)
    (landing / "orders" / name).write_bytes(content)
    db = tmp_path / "w.duckdb"
    with pytest.raises(LandingError, match=message) as err:
        land(landing, db)
    assert name in str(err.value)
    # nothing of the bad file landed (a rerun after the fix loads it), and what did
    # land is whole
    con = duckdb.connect(str(db), read_only=True)
    try:
        files = dict(con.execute("select file_path, row_count from raw._landed_files"
                                 ).fetchall())
        bad_rows = con.execute("select count(*) from raw.orders where _source_file = ?",
                               [f"orders/{name}"]).fetchone()[0]
    finally:
        con.close()
    assert f"orders/{name}" not in files and bad_rows == 0
    assert set(files) <= {"orders/a_good.csv"} and all(n == 1 for n in files.values())
    _record(f"file: {case}", "file", 0)


def test_a_missing_required_source_stops_the_landing(tmp_path):
    (tmp_path / "l" / "events").mkdir(parents=True)
    with pytest.raises(LandingError, match="required source 'orders'"):
        land(tmp_path / "l", tmp_path / "w.duckdb")
    _record("file: required source missing", "file", 0)
