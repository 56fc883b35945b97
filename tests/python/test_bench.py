"""The benchmark's two reference implementations compute the same numbers, and the
comparison notices when they do not (so the benchmark's check can fail)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import duckdb
import pandas as pd
import pytest

from .conftest import PROJECT

sys.path.insert(0, str(PROJECT / "benchmarks"))
import bench  # noqa: E402
import profile_model  # noqa: E402
import reference  # noqa: E402


def test_duckdb_and_pandas_features_agree(generated, tmp_path):
    d, p = tmp_path / "d.parquet", tmp_path / "p.parquet"
    n = reference.run_duckdb(generated.landing, d)
    assert n == reference.run_pandas(generated.landing, p) > 1000
    assert reference.compare(d, p) == []
    frame = pd.read_parquet(p)
    assert frame.orders.sum() > 0 and frame.events.sum() > 0 and frame.opens.sum() > 0
    frame.loc[frame.orders > 0, "revenue"] += 0.5  # a wrong implementation
    frame.loc[0, "last_event_at"] = pd.Timestamp("2000-01-01")
    frame.to_parquet(p, index=False)
    problems = reference.compare(d, p)
    assert any(x.startswith("revenue") for x in problems)
    assert any(x.startswith("last_event_at") for x in problems)


def test_appended_day_is_the_next_day_with_new_ids(generated, tmp_path):
    out = tmp_path / "next.parquet"
    n = bench.append_day(generated.landing, out)
    day = pd.read_parquet(out)
    assert n == len(day) > 0 and day.event_id.str.endswith("-next").all()
    newest = pd.Timestamp(generated.scalar("select max(event_at) from staging.stg_web__events"))
    assert pd.to_datetime(day.event_at, utc=True).dt.date.nunique() == 1
    assert pd.to_datetime(day.event_at, utc=True).min().date() == \
        (newest + pd.Timedelta(days=1)).date()
    # a real day's volume, not one of the sparse far-future days of planted bad rows
    busiest = generated.scalar("select max(n) from (select count(*) as n "
                               "from staging.stg_web__events group by cast(event_at as date))")
    assert n >= 0.2 * busiest


def test_sizes_parse():
    assert [bench.parse_size(s) for s in ("1M", "10M", "100M", "1B", "500k")] == [
        10**6, 10**7, 10**8, 10**9, 500_000]


def test_a_failed_size_keeps_what_was_measured(tmp_path):
    run = {"finished_at": "2026-01-01T00:00:00+00:00", "machine": "m", "threads": 2,
           "memory_limit": "6GB", "sizes": [{
               "label": "100M", "events": 10**8,
               "steps": {"duckdb_features": {"seconds": 400.0, "peak_rss_mb": 6000.0}},
               "failed": "dbt_build failed (rc=1): No space left on device"}]}
    (tmp_path / "bench-20260101T000000Z.json").write_text(__import__("json").dumps(run))
    text = bench.markdown(bench.newest_per_size(tmp_path))
    assert "100,000,000 events did not complete: dbt_build failed" in text
    assert "duckdb_features 400.0 s / 6000 MB" in text


def test_the_table_gives_the_full_build_and_dbt_alone_against_the_bare_query(tmp_path):
    import json

    def step(seconds):
        return {"seconds": seconds, "peak_rss_mb": 1024.0}

    steps = {"duckdb_features": step(100.0), "land": step(250.0), "dbt_build": step(1000.0)}
    summary = {"events": 10**8, "customers": 2_777_777, "full_build_seconds": 1250.0,
               "incremental_seconds": 150.0, "full_build_vs_bare": 12.5,
               "incremental_vs_bare": 1.5, "full_build_peak_rss_mb": 6144.0,
               "capped_memory_limit": "1GB"}  # no dbt_build_vs_bare: an older run's JSON
    (tmp_path / "bench-20260101T000000Z.json").write_text(json.dumps({
        "finished_at": "2026-01-01T00:00:00+00:00", "machine": "m", "threads": 2,
        "memory_limit": "5GB",
        "sizes": [{"label": "100M", "events": 10**8, "steps": steps, "summary": summary}]}))
    text = bench.markdown(bench.newest_per_size(tmp_path))
    assert "full / bare (dbt alone)" in text
    assert "| 12.5x (10.0x) | 1.5x |" in text


def test_builds_only_reuses_the_newest_capped_and_pandas_steps_of_that_size(tmp_path):
    import json

    def run(name, size, seconds):
        (tmp_path / name).write_text(json.dumps({"sizes": [{
            "events": size, "steps": {
                "duckdb_features": {"seconds": seconds, "peak_rss_mb": 1.0},
                "duckdb_features_capped": {"seconds": seconds + 1, "peak_rss_mb": 1.0}}}]}))

    run("bench-20260101T000000Z.json", 10**8, 400.0)
    run("bench-20260102T000000Z.json", 10**8, 410.0)
    run("bench-20260103T000000Z.json", 10**7, 25.0)
    steps: dict = {}
    bench.reuse_engine_steps(10**8, tmp_path, steps)
    # the bare query is the yardstick: never reused, timed in the run itself
    assert "duckdb_features" not in steps
    assert steps["duckdb_features_capped"]["seconds"] == 411.0
    assert steps["duckdb_features_capped"]["reused_from"] == "bench-20260102T000000Z.json"
    assert "pandas_features" not in steps
    none: dict = {}
    bench.reuse_engine_steps(10**9, tmp_path, none)
    assert none == {}


def test_a_step_reports_its_own_peak_memory_not_the_benchmarks(tmp_path):
    # Linux carries a process's high-water RSS across exec: a step started straight
    # from a big benchmark process would report the benchmark's peak (19 GB at 100M)
    big = bytearray(400 * 1024**2)
    big[::4096] = b"\x01" * len(big[::4096])  # touch every page
    small = bench.run_step("small", [sys.executable, "-c", "pass"])
    del big
    assert small["exit_code"] == 0 and small["peak_rss_mb"] < 150
    grow = "x = bytearray(300 * 1024**2); x[::4096] = b'1' * len(x[::4096])"
    grows = bench.run_step("grows", [sys.executable, "-c", grow])
    assert grows["peak_rss_mb"] > 300
    with pytest.raises(bench.StepFailed, match="rc=3"):
        bench.run_step("fails", [sys.executable, "-c", "raise SystemExit(3)"])


def test_newest_version_per_key_agrees_with_pandas_on_repeated_keys():
    import duckdb

    rows = pd.DataFrame({
        "event_id": ["a", "b", "b", "c", "c", "c", "d", "d", None, None],
        "event_at": ["2024-01-01", "2024-01-01", "2024-01-02", None, "2024-01-01", "",
                     "2024-01-05", "2024-01-05", "2024-02-01", "2024-03-01"],
        "event_type": ["view", "view", "view", "cart", "view", "view", "cart", "view",
                       "view", "view"],
        "customer_id": ["1", "2", "3", "4", "5", "6", "7", "8", "9", "10"],
    })
    con = duckdb.connect()
    con.register("raw", rows)
    cols, order = ["customer_id", "event_type", "event_at"], ["event_at", "event_type",
                                                            "customer_id"]
    sql = (f"with event_rows as (select * from raw),"
           f"{reference._newest('event_rows', 'event_id', cols, order)}"
           f" select * from event_rows_newest")
    got = con.execute(sql).df().sort_values("customer_id").reset_index(drop=True)
    want = reference._first_by(rows, "event_id", order)[cols]
    want = want.sort_values("customer_id").reset_index(drop=True)
    assert got.customer_id.tolist() == ["1", "10", "3", "5", "8"]  # d: "view" > "cart"
    pd.testing.assert_frame_equal(got, want, check_dtype=False)


def test_a_step_records_what_it_wrote_to_disk(tmp_path):
    """run_step reports the bytes the step itself wrote (and read) through the block
    layer, from its rusage: 20 MB written and synced shows up as about 20 MB."""
    target = tmp_path / "out.bin"
    code = ("import os, sys; f = open(sys.argv[1], 'wb'); f.write(os.urandom(20 * 2**20)); "
            "f.flush(); os.fsync(f.fileno())")
    step = bench.run_step("write", [sys.executable, "-c", code, str(target)])
    assert 19 <= step["disk_written_mb"] <= 40, step
    assert step["disk_read_mb"] >= 0
    quiet = bench.run_step("quiet", [sys.executable, "-c", "pass"])
    assert quiet["disk_written_mb"] < 5, quiet


def test_a_step_records_its_cpu_time_not_its_sleep(tmp_path):
    """cpu_seconds counts what the step computed (user + system), not its wall time:
    a spinning step shows about its run time, a sleeping one about nothing."""
    spin = ("import time; end = time.process_time() + 1.5\n"
            "while time.process_time() < end: pass")
    busy = bench.run_step("spin", [sys.executable, "-c", spin])
    assert busy["cpu_seconds"] >= 1.4, busy
    idle = bench.run_step("sleep", [sys.executable, "-c", "import time; time.sleep(1.5)"])
    assert idle["cpu_seconds"] < 0.8, idle
    assert idle["cpu_busy"] < busy["cpu_busy"], (idle, busy)


def test_profile_model_shows_where_a_model_spends_its_cpu(generated, tmp_path):
    """make profile: one model built again into a scratch table with the profiler on;
    the report names the operators and the rows, and the warehouse is left as it was."""
    db = tmp_path / "w.duckdb"
    shutil.copy(generated.db, db)
    tables = "select schema_name, table_name from duckdb_tables() order by all"
    con = duckdb.connect(str(db), read_only=True)
    before, orders = con.execute(tables).fetchall(), con.execute(
        "select count(*) from staging.base_shop__orders").fetchone()[0]
    con.close()
    script = str(PROJECT / "benchmarks" / "profile_model.py")
    out = tmp_path / "profile.json"
    proc = subprocess.run([sys.executable, script, "--model", "base_shop__orders",
                           "--db", str(db), "--json", str(out), "--min-share", "0"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert f"base_shop__orders: {orders:,d} rows" in proc.stdout
    assert "CREATE_TABLE_AS" in proc.stdout and "TABLE_SCAN" in proc.stdout
    ops = profile_model.operators(json.loads(out.read_text()))
    assert any(o["type"] == "CREATE_TABLE_AS" for o in ops)
    assert sum(o["seconds"] for o in ops) > 0
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute(tables).fetchall() == before
    con.close()
    # a Python model has no SQL to profile: a clear error, not a traceback
    proc = subprocess.run([sys.executable, script, "--model", "ml_churn_fit", "--db", str(db)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode != 0 and "Python models cannot be profiled" in proc.stderr
