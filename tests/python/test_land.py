"""The landing step: every readable row lands with lineage; unreadable files stop it."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from customer_segments.land import LandingError, land

HEADER = "order_id,customer_id,ordered_at,revenue\n"


def _write(path, text, mode="w"):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, mode) as fh:
        fh.write(text)
    return path


def _rows(db, table):
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(f"select * from raw.{table} order by _source_file, _source_row"
                           ).fetchall()
    finally:
        con.close()


def test_orders_only_lands_and_optional_sources_are_empty(tmp_path):
    _write(tmp_path / "l" / "orders" / "a.csv", HEADER + "O1,C1,2024-01-01,10\n")
    report = land(tmp_path / "l", tmp_path / "w.duckdb")
    assert report.rows_loaded == 1
    assert sorted(report.empty_sources) == ["customers", "email_events", "events"]
    assert _rows(tmp_path / "w.duckdb", "events") == []


def test_rows_landed_after_a_build_are_stamped_after_it(tmp_path):
    """Landing times are compared with build times (`now()` in the warehouse, to the
    microsecond): a file landed right after a build, in the same second, must not look
    landed before it (truncated to the second it did, and the next build took its rows
    for restaged ones)."""
    db = tmp_path / "w.duckdb"
    _write(tmp_path / "l" / "orders" / "a.csv", HEADER + "O1,C1,2024-01-01,10\n")
    land(tmp_path / "l", db)
    con = duckdb.connect(str(db))
    built_at = con.execute("select cast(timezone('UTC', now()) as timestamp)").fetchone()[0]
    con.close()
    _write(tmp_path / "l" / "orders" / "b.csv", HEADER + "O2,C1,2024-01-02,10\n")
    land(tmp_path / "l", db)
    landed = [r for r in _rows(db, "orders") if r[0] == "O2"]
    assert len(landed) == 1 and landed[0][-1] > built_at, (landed, built_at)


def test_required_source_missing_is_an_error(tmp_path):
    (tmp_path / "l" / "events").mkdir(parents=True)
    with pytest.raises(LandingError, match="required source 'orders'"):
        land(tmp_path / "l", tmp_path / "w.duckdb")


@pytest.mark.parametrize("name,content,message", [
    ("orders.json", '{"a": 1}', "not a CSV or Parquet file"),
    ("bad.csv", "order_id,ordered_at\nO1,2024-01-01\n",
     "missing required column.*customer_id, revenue"),
    ("dup.csv", "order_id,order_id,customer_id,ordered_at,revenue\n1,1,C,2024,1\n",
     "duplicate column name"),
    ("broken.parquet", "this is not parquet", "not a readable Parquet file"),
])
def test_unreadable_file_stops_with_its_name_and_problem(tmp_path, name, content, message):
    _write(tmp_path / "l" / "orders" / "good.csv", HEADER + "O1,C1,2024-01-01,10\n")
    _write(tmp_path / "l" / "orders" / name, content)
    with pytest.raises(LandingError, match=message) as err:
        land(tmp_path / "l", tmp_path / "w.duckdb")
    assert name in str(err.value)


def test_non_utf8_header_is_named(tmp_path):
    path = tmp_path / "l" / "orders" / "latin1.csv"
    path.parent.mkdir(parents=True)
    path.write_bytes("order_id,customer_id,ordered_at,revenue,caf\xe9\n".encode("latin-1"))
    with pytest.raises(LandingError, match="latin1.csv: header is not UTF-8"):
        land(tmp_path / "l", tmp_path / "w.duckdb")


def test_short_and_long_rows_keep_their_values_and_lineage(tmp_path):
    _write(tmp_path / "l" / "orders" / "a.csv",
           HEADER + "O1,C1,2024-01-01,10\nO2,C2\nO3,C3,2024-01-02,5,surprise\n")
    land(tmp_path / "l", tmp_path / "w.duckdb")
    rows = _rows(tmp_path / "w.duckdb", "orders")
    assert [(r[0], r[11], r[12], r[13]) for r in rows] == [
        ("O1", "orders/a.csv", 1, None),
        ("O2", "orders/a.csv", 2, None),
        ("O3", "orders/a.csv", 3, "surprise"),
    ]
    assert rows[1][2] is None and rows[1][4] is None  # missing values stay null


def test_unknown_columns_are_ignored_and_recorded(tmp_path):
    _write(tmp_path / "l" / "orders" / "a.csv",
           "order_id,customer_id,ordered_at,revenue,loyalty_points\nO1,C1,2024,1,50\n")
    report = land(tmp_path / "l", tmp_path / "w.duckdb")
    assert report.files[0].unknown_columns == ["loyalty_points"]
    con = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
    assert con.execute("select unknown_columns from raw._landed_files").fetchone()[0] == \
        "loyalty_points"


def test_parquet_rows_numbered_and_typed_values_kept_as_text(tmp_path):
    path = tmp_path / "l" / "orders" / "a.parquet"
    path.parent.mkdir(parents=True)
    pq.write_table(pa.table({"order_id": ["O1", "O2"], "customer_id": ["C1", "C2"],
                             "ordered_at": ["2024-01-01T00:00:00Z", "x"],
                             "revenue": [10.5, -1.0]}), path)
    land(tmp_path / "l", tmp_path / "w.duckdb")
    rows = _rows(tmp_path / "w.duckdb", "orders")
    assert [(r[0], r[4], r[12]) for r in rows] == [("O1", "10.5", 1), ("O2", "-1.0", 2)]


def test_rerun_skips_unchanged_reloads_changed_and_adds_new(tmp_path):
    a = _write(tmp_path / "l" / "orders" / "a.csv", HEADER + "O1,C1,2024-01-01,10\n")
    db = tmp_path / "w.duckdb"
    land(tmp_path / "l", db)
    again = land(tmp_path / "l", db)
    assert [f.status for f in again.files] == ["unchanged"]
    _write(a, HEADER + "O1,C1,2024-01-01,10\nO2,C1,2024-01-02,11\n")
    os.utime(a, (a.stat().st_atime, a.stat().st_mtime + 5))
    _write(tmp_path / "l" / "orders" / "b.csv", HEADER + "O3,C2,2024-01-03,12\n")
    third = land(tmp_path / "l", db)
    assert sorted((f.path, f.status, f.rows) for f in third.files) == [
        ("orders/a.csv", "reloaded", 2), ("orders/b.csv", "loaded", 1)]
    assert [r[0] for r in _rows(db, "orders")] == ["O1", "O2", "O3"]
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("select sum(row_count) from raw._landed_files").fetchone()[0] == 3


def test_failed_file_leaves_earlier_files_landed_and_nothing_of_itself(tmp_path):
    _write(tmp_path / "l" / "orders" / "a.csv", HEADER + "O1,C1,2024-01-01,10\n")
    _write(tmp_path / "l" / "orders" / "b.csv", "order_id\nO2\n")
    db = tmp_path / "w.duckdb"
    with pytest.raises(LandingError):
        land(tmp_path / "l", db)
    assert [r[0] for r in _rows(db, "orders")] == ["O1"]


def test_empty_file_and_header_only_file_land_zero_rows(tmp_path):
    _write(tmp_path / "l" / "orders" / "a.csv", HEADER + "O1,C1,2024-01-01,10\n")
    _write(tmp_path / "l" / "orders" / "empty.csv", "")
    _write(tmp_path / "l" / "orders" / "header.csv", HEADER)
    report = land(tmp_path / "l", tmp_path / "w.duckdb")
    assert sorted((f.path, f.rows) for f in report.files) == [
        ("orders/a.csv", 1), ("orders/empty.csv", 0), ("orders/header.csv", 0)]


def test_marker_and_hidden_files_are_skipped(tmp_path):
    _write(tmp_path / "l" / "orders" / "a.csv", HEADER + "O1,C1,2024-01-01,10\n")
    _write(tmp_path / "l" / "orders" / "_SUCCESS", "")
    _write(tmp_path / "l" / "orders" / ".DS_Store", "junk")
    report = land(tmp_path / "l", tmp_path / "w.duckdb")
    assert [f.path for f in report.files] == ["orders/a.csv"]


def test_tsv_and_gzip_files_land(tmp_path):
    import gzip
    _write(tmp_path / "l" / "orders" / "a.tsv",
           "order_id\tcustomer_id\tordered_at\trevenue\nO1\tC1\t2024-01-01\t1,5\n")
    path = tmp_path / "l" / "orders" / "b.csv.gz"
    with gzip.open(path, "wt") as fh:
        fh.write(HEADER + "O2,C2,2024-01-02,3\n")
    land(tmp_path / "l", tmp_path / "w.duckdb")
    assert [(r[0], r[4]) for r in _rows(tmp_path / "w.duckdb", "orders")] == [
        ("O1", "1,5"), ("O2", "3")]


def test_row_far_wider_than_header_stops_with_file_and_line(tmp_path):
    _write(tmp_path / "l" / "orders" / "a.csv",
           HEADER + "O1,C1,2024-01-01,10\n" + "O2" + ",x" * 20 + "\n")
    with pytest.raises(LandingError, match="a.csv: cannot be read as CSV.*Line: 3"):
        land(tmp_path / "l", tmp_path / "w.duckdb")


def test_body_not_utf8_stops_with_file_name(tmp_path):
    path = tmp_path / "l" / "orders" / "a.csv"
    path.parent.mkdir(parents=True)
    path.write_bytes((HEADER + "O1,C1,2024-01-01,10\nO2,Z\xfcrich,2024-01-01,1\n")
                     .encode("latin-1"))
    with pytest.raises(LandingError, match="a.csv: cannot be read as CSV"):
        land(tmp_path / "l", tmp_path / "w.duckdb")


def test_landing_uses_the_duckdb_settings_dbt_uses(tmp_path, monkeypatch):
    """CS_DUCKDB_MEMORY_LIMIT / THREADS / TEMP_DIR hold for the landing step too (it took
    every core and 7 GB for 100M events on DuckDB's own defaults)."""
    _write(tmp_path / "l" / "orders" / "a.csv", HEADER + "O1,C1,2024-01-01,10\n")
    monkeypatch.setenv("CS_DUCKDB_MEMORY_LIMIT", "not a size")
    with pytest.raises(duckdb.Error, match="(?i)memory"):
        land(tmp_path / "l", tmp_path / "w.duckdb")
    monkeypatch.setenv("CS_DUCKDB_MEMORY_LIMIT", "300MB")
    monkeypatch.setenv("CS_DUCKDB_THREADS", "1")
    monkeypatch.setenv("CS_DUCKDB_TEMP_DIR", str(tmp_path / "spill"))
    assert land(tmp_path / "l", tmp_path / "w.duckdb").rows_loaded == 1


def test_landing_works_while_the_caller_holds_a_connection(tmp_path, monkeypatch):
    """The settings are applied by SET: DuckDB refuses a second connection to a file
    with another configuration, and a notebook or test may hold one."""
    _write(tmp_path / "l" / "orders" / "a.csv", HEADER + "O1,C1,2024-01-01,10\n")
    db = tmp_path / "w.duckdb"
    monkeypatch.setenv("CS_DUCKDB_THREADS", "1")
    held = duckdb.connect(str(db))
    try:
        assert land(tmp_path / "l", db).rows_loaded == 1
        assert held.execute("select count(*) from raw.orders").fetchone()[0] == 1
        assert held.execute("select current_setting('threads')").fetchone()[0] == 1
        # landing raises the checkpoint threshold for itself, and gives it back
        assert held.execute("select current_setting('checkpoint_threshold')"
                            ).fetchone()[0] == "16.0 MiB"
    finally:
        held.close()


def _orders_parquet(path, ids, revenue):
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({"order_id": ids, "customer_id": ["C1"] * len(ids),
                             "ordered_at": ["2024-01-01T00:00:00Z"] * len(ids),
                             "revenue": revenue}), path, compression="none")
    return path


def test_parquet_files_land_together_with_their_own_lineage_and_counts(tmp_path):
    """Consecutive Parquet files of one schema land in one INSERT; a schema change or a
    CSV between them starts a new batch. Every row keeps its file and row number."""
    land_dir = tmp_path / "l"
    _orders_parquet(land_dir / "orders" / "a.parquet", ["O1", "O2"], [1.5, 2.5])
    _orders_parquet(land_dir / "orders" / "b.parquet", ["O3"], [3.5])
    _write(land_dir / "orders" / "c.csv", HEADER + "O4,C1,2024-01-01,4\n")
    _orders_parquet(land_dir / "orders" / "d.parquet", ["O5"], ["5"])  # text revenue
    _orders_parquet(land_dir / "orders" / "e.parquet", ["O6", "O7", "O8"], [6, 7, 8])
    report = land(land_dir, tmp_path / "w.duckdb")
    assert sorted((f.path, f.rows, f.status) for f in report.files) == [
        ("orders/a.parquet", 2, "loaded"), ("orders/b.parquet", 1, "loaded"),
        ("orders/c.csv", 1, "loaded"), ("orders/d.parquet", 1, "loaded"),
        ("orders/e.parquet", 3, "loaded")]
    assert [(r[0], r[4], r[11], r[12]) for r in _rows(tmp_path / "w.duckdb", "orders")] == [
        ("O1", "1.5", "orders/a.parquet", 1), ("O2", "2.5", "orders/a.parquet", 2),
        ("O3", "3.5", "orders/b.parquet", 1), ("O4", "4", "orders/c.csv", 1),
        ("O5", "5", "orders/d.parquet", 1), ("O6", "6", "orders/e.parquet", 1),
        ("O7", "7", "orders/e.parquet", 2), ("O8", "8", "orders/e.parquet", 3)]
    con = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
    assert con.execute("select file_path, row_count from raw._landed_files order by 1"
                       ).fetchall() == [("orders/a.parquet", 2), ("orders/b.parquet", 1),
                                        ("orders/c.csv", 1), ("orders/d.parquet", 1),
                                        ("orders/e.parquet", 3)]
    con.close()
    # a changed file in a batch is reloaded: its old rows go, the others stay once
    _orders_parquet(land_dir / "orders" / "b.parquet", ["O3", "O3b"], [3.5, 3.75])
    _orders_parquet(land_dir / "orders" / "f.parquet", ["O9"], [9.5])
    again = land(land_dir, tmp_path / "w.duckdb")
    assert sorted((f.path, f.rows, f.status) for f in again.files if f.status != "unchanged"
                  ) == [("orders/b.parquet", 2, "reloaded"), ("orders/f.parquet", 1, "loaded")]
    assert [r[0] for r in _rows(tmp_path / "w.duckdb", "orders")] == [
        "O1", "O2", "O3", "O3b", "O4", "O5", "O6", "O7", "O8", "O9"]


def test_parquet_file_with_unreadable_data_is_named_and_earlier_files_land(tmp_path, caplog):
    """Its footer reads (so it joins the batch) but a data page does not: the batch is
    rolled back and landed file by file, which lands the files before it and names it."""
    land_dir = tmp_path / "l"
    _orders_parquet(land_dir / "orders" / "a.parquet", ["O1"], [1.0])
    bad = _orders_parquet(land_dir / "orders" / "b.parquet",
                          [f"O{i:06d}" for i in range(2000)], [1.0] * 2000)
    data = bytearray(bad.read_bytes())
    data[200:4000] = b"\xff" * 3800  # inside the first column chunk's pages
    bad.write_bytes(bytes(data))
    _orders_parquet(land_dir / "orders" / "c.parquet", ["O3"], [3.0])
    with pytest.raises(LandingError, match="b.parquet: cannot be read as PARQUET"):
        land(land_dir, tmp_path / "w.duckdb")
    assert "3 Parquet files did not land together" in caplog.text
    assert [r[11] for r in _rows(tmp_path / "w.duckdb", "orders")] == ["orders/a.parquet"]


def test_parquet_lands_by_reference_to_its_own_copy(tmp_path):
    """raw.orders reads a copy of the file kept beside the warehouse: what landed stays
    what staging reads when the landing zone changes or is emptied; a re-landed file's
    old copy goes."""
    land_dir, db = tmp_path / "l", tmp_path / "w.duckdb"
    a = _orders_parquet(land_dir / "orders" / "a.parquet", ["O1", "O2"], [1.5, 2.5])
    _orders_parquet(land_dir / "orders" / "b.parquet", ["O3"], ["3"])  # text revenue
    land(land_dir, db)
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("select table_type from information_schema.tables where "
                       "table_schema = 'raw' and table_name = 'orders'").fetchone()[0] == "VIEW"
    # the rows table is empty: the rows are the copies'
    assert con.execute('select count(*) from raw."_orders_rows"').fetchone()[0] == 0
    stored = con.execute("select stored_path from raw._landed_files "
                         "where file_path = 'orders/a.parquet'").fetchone()[0]
    con.close()
    assert stored.startswith(str((tmp_path / "w_landed").resolve()))
    assert Path(stored).read_bytes() == a.read_bytes()
    con = duckdb.connect(str(db), read_only=True)
    view_sql = con.execute("select sql from duckdb_views() where view_name = 'orders'"
                           ).fetchone()[0]
    con.close()
    assert "union_by_name = true" in view_sql  # b's revenue is text, a's a number
    a.unlink()  # the landing zone emptied: raw still has the rows
    assert [(r[0], r[4], r[11], r[12]) for r in _rows(db, "orders")] == [
        ("O1", "1.5", "orders/a.parquet", 1), ("O2", "2.5", "orders/a.parquet", 2),
        ("O3", "3", "orders/b.parquet", 1)]
    _orders_parquet(a, ["O1", "O2", "O2b"], [1.5, 2.5, 2.75])
    assert sorted((f.path, f.status) for f in land(land_dir, db).files) == [
        ("orders/a.parquet", "reloaded"), ("orders/b.parquet", "unchanged")]
    assert not Path(stored).exists()
    assert [r[0] for r in _rows(db, "orders")] == ["O1", "O2", "O2b", "O3"]
    # a CSV file of the source: every row of it moves to the rows table (one storage)
    _write(land_dir / "orders" / "c.csv", HEADER + "O4,C1,2024-01-01,4\n")
    land(land_dir, db)
    assert [r[0] for r in _rows(db, "orders")] == ["O1", "O2", "O2b", "O3", "O4"]
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute('select count(*) from raw."_orders_rows"').fetchone()[0] == 5
    con.close()
    assert not list((tmp_path / "w_landed").rglob("*.parquet"))


def test_a_filter_on_landing_time_reads_only_the_batches_landed_since(tmp_path):
    land_dir, db = tmp_path / "l", tmp_path / "w.duckdb"
    _orders_parquet(land_dir / "orders" / "a.parquet", ["O1"], [1.0])
    land(land_dir, db)
    _orders_parquet(land_dir / "orders" / "b.parquet", ["O2"], [2.0])
    land(land_dir, db)
    con = duckdb.connect(str(db), read_only=True)
    first, second = [r[0] for r in con.execute(
        "select distinct landed_at from raw._landed_files order by 1").fetchall()]
    assert con.execute("select _source_file, _landed_at from raw.orders order by 1"
                       ).fetchall() == [("orders/a.parquet", first), ("orders/b.parquet", second)]
    view_sql = con.execute("select sql from duckdb_views() where schema_name = 'raw' "
                           "and view_name = 'orders'").fetchone()[0]
    plan = con.execute(f"explain analyze select order_id from raw.orders "
                       f"where _landed_at > timestamp '{first}'").fetchall()[0][1]
    assert con.execute(f"select order_id from raw.orders where _landed_at > timestamp "
                       f"'{first}'").fetchall() == [("O2",)]
    con.close()
    assert "Scanning Files: 1/2" in plan  # a.parquet's copy not read
    assert "union_by_name = false" in view_sql  # one schema: no footer of every file


def test_a_warehouse_from_before_keeps_its_rows_and_can_be_made_self_contained(tmp_path):
    from customer_segments.land import copy_parquet_rows_into_tables

    land_dir, db = tmp_path / "l", tmp_path / "w.duckdb"
    _orders_parquet(land_dir / "orders" / "a.parquet", ["O1"], [1.0])
    land(land_dir, db)
    con = duckdb.connect(str(db))
    # the layout before: raw.orders a table holding every landed row
    con.execute("create table raw.orders_old as select * from raw.orders")
    con.execute("drop view raw.orders")
    con.execute('drop table raw."_orders_rows"')
    con.execute("alter table raw.orders_old rename to orders")
    con.execute("update raw._landed_files set stored_path = null")
    con.close()
    shutil.rmtree(tmp_path / "w_landed")
    _orders_parquet(land_dir / "orders" / "b.parquet", ["O2"], [2.0])
    land(land_dir, db)
    # its rows stay, in the rows table, so the new file lands there too (one storage)
    assert [(r[0], r[11]) for r in _rows(db, "orders")] == [
        ("O1", "orders/a.parquet"), ("O2", "orders/b.parquet")]
    assert not list((tmp_path / "w_landed").rglob("*.parquet"))
    # a warehouse whose files landed by reference, made self-contained
    other = tmp_path / "v.duckdb"
    land(land_dir, other)
    assert len(list((tmp_path / "v_landed").rglob("*.parquet"))) == 2
    before = _rows(other, "orders")
    assert copy_parquet_rows_into_tables(other) == 2
    assert _rows(other, "orders") == before
    assert not list((tmp_path / "v_landed").rglob("*"))  # copies and their folders gone
    con = duckdb.connect(str(other), read_only=True)
    assert con.execute('select count(*) from raw."_orders_rows"').fetchone()[0] == 2
    assert con.execute("select count(stored_path) from raw._landed_files").fetchone()[0] == 0
    con.close()
