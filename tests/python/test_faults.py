"""Fault tests: a build killed mid-way (SIGKILL) and run again ends identical to a clean
build; building twice changes nothing; an incremental run equals a full refresh.

Tables are compared by an order-independent checksum of every row. Columns that record
when something ran (landing, fit and validation times) are left out, and doubles are
rounded to 9 significant digits: parallel sums may differ in the last bit.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time

import duckdb
import pandas as pd
import pytest

from customer_segments.quality.gates import ERROR, build_gate

from .conftest import DBT, PROJECT, Build, run_dbt

pytestmark = pytest.mark.dbt

SCHEMAS = ("staging", "intermediate", "marts", "ml", "activation", "quality", "reference")
# (_as_of_date: the as-of date a by-customer row was last computed for; an incremental
# run leaves the rows it need not recompute as they are)
WHEN_IT_RAN = {"_landed_at", "landed_at", "_staged_at", "_built_at", "_stitched_at",
               "_as_of_date",
               "fitted_at",
               "validated_at", "started_at", "finished_at", "exported_at",
               # GX's observed statistics as text (a stdev, a mean): doubles summed in
               # parallel differ in the last bits between runs; success and counts stay
               "observed_value"}
# the build log (one row per invocation); tables named _* are the tools' own state
# (e.g. the export state), not dbt models
SKIP_TABLES = {("quality", "dbt_invocations")}
# GX on the staged feeds reads the rows staged since the newest passing whole build
# (validated_since): a rebuild validates fewer rows by design. Which expectations ran,
# on what, and whether they held must not change.
WINDOW_COLUMNS = {("quality", "expectation_results"): {
    "validated_since", "rows_in_table", "rows_validated", "element_count", "is_sampled",
    "unexpected_count"}}


def checksums(db) -> dict[tuple[str, str], tuple[int, int]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        cols = con.execute(f"""
            select table_schema, table_name, column_name, data_type
            from information_schema.columns
            where table_schema in {SCHEMAS}
            order by table_schema, table_name, ordinal_position""").fetchall()
        tables: dict[tuple[str, str], list[str]] = {}
        for schema, table, col, dtype in cols:
            if (schema, table) in SKIP_TABLES or table.startswith("_") or col in WHEN_IT_RAN \
                    or col in WINDOW_COLUMNS.get((schema, table), ()):
                continue
            expr = f'"{col}"'
            if dtype in ("DOUBLE", "FLOAT", "REAL"):
                expr = f"round({expr}, 9 - cast(ceil(log10(abs({expr}) + 1e-300)) as int))"
            tables.setdefault((schema, table), []).append(expr)
        out = {}
        for (schema, table), exprs in tables.items():
            out[(schema, table)] = con.execute(
                f"select count(*), coalesce(sum(hash({', '.join(exprs)})), 0) "
                f"from {schema}.{table}").fetchone()
        return out
    finally:
        con.close()


def differences(a: dict, b: dict) -> list[str]:
    return [f"{k}: {a.get(k)} != {b.get(k)}" for k in sorted(set(a) | set(b))
            if a.get(k) != b.get(k)]


def raw_copy(generated: Build, db) -> None:
    """A new warehouse holding exactly the generated build's raw layer (same landing
    times), so its build can be compared with the generated one."""
    con = duckdb.connect(str(db))
    try:
        con.execute(f"attach '{generated.db}' as g (read_only)")
        con.execute("create schema raw")
        for (table,) in con.execute("select table_name from information_schema.tables "
                                    "where table_catalog = 'g' and table_schema = 'raw'"
                                    ).fetchall():
            con.execute(f"create table raw.{table} as select * from g.raw.{table}")
        con.execute("detach g")
    finally:
        con.close()


def test_a_build_killed_midway_then_rerun_equals_a_clean_build(generated, tmp_path):
    db = tmp_path / "warehouse.duckdb"
    raw_copy(generated, db)
    env = {**os.environ, "CS_DUCKDB_PATH": str(db), "CS_DUCKDB_TEMP_DIR": str(tmp_path / "t"),
           "CS_DATA_DOCS_DIR": str(tmp_path / "docs"),
           "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    log = tmp_path / "build.out"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [str(DBT), "build", "--target-path", str(tmp_path / "target"), "--log-path",
             str(tmp_path / "logs"), "--profiles-dir", str(PROJECT), "--project-dir",
             str(PROJECT)], cwd=PROJECT, env=env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True)
        # kill it in the middle: once the first model fit (a Python model) has started
        deadline = time.monotonic() + 900
        while "ml_clusters_fit" not in log.read_text():
            assert proc.poll() is None, "the build ended before it could be killed:\n" \
                + log.read_text()[-3000:]
            assert time.monotonic() < deadline, "the build never reached the fits"
            time.sleep(0.2)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    con = duckdb.connect(str(db), read_only=True)
    try:
        gate = build_gate(con)
    finally:
        con.close()
    assert gate.status == ERROR and "did not finish" in gate.detail, gate
    run_dbt(db, tmp_path, "build")
    assert not differences(checksums(generated.db), checksums(db))


@pytest.fixture(scope="module")
def rebuilt(generated, tmp_path_factory):
    """The generated warehouse copied and built a second time on the same data."""
    root = tmp_path_factory.mktemp("rebuilt")
    db = root / "warehouse.duckdb"
    shutil.copy(generated.db, db)
    before = checksums(db)
    run_dbt(db, root, "build")
    return root, db, before


def test_building_twice_changes_nothing(rebuilt):
    _, db, before = rebuilt
    assert not differences(before, checksums(db))
    con = duckdb.connect(str(db), read_only=True)
    try:
        fits = con.execute("select count(*), count(distinct run_id) "
                           "from marts.ml_model_runs").fetchone()
    finally:
        con.close()
    assert fits[0] == fits[1] == 3  # the same fits, recorded once


def test_an_incremental_run_equals_a_full_refresh(rebuilt, tmp_path):
    _, db, _ = rebuilt
    full = tmp_path / "full.duckdb"
    shutil.copy(db, full)
    run_dbt(full, tmp_path, "build", "--full-refresh")
    incremental = checksums(db)
    refreshed = checksums(full)
    incremental_models = {("activation", "user_segment_history"), ("marts", "ml_model_runs")}
    assert incremental_models <= set(incremental)
    assert not differences(incremental, refreshed)


STAGING = ["--select", "staging", "quarantined_rows", "source_reconciliation",
           "source_volume_daily",
           "+int_customer_activity_daily", "+int_customer_category_daily",
           "+int_lifecycle_current", "+int_customer_favourite_category",
           "+int_customer_send_slots"]
BY_CUSTOMER = ("int_customer_activity_daily", "int_customer_category_daily",
               "int_lifecycle_current")


def _staging_checksums(db) -> dict:
    return {k: v for k, v in checksums(db).items()
            if k[0] == "staging" or k in {("quality", "quarantined_rows"),
                                          ("quality", "source_reconciliation"),
                                          ("quality", "source_volume_daily")}
            or k[1] in BY_CUSTOMER or k[1].startswith("int_e")
            or k[1] in ("int_customers_unified", "int_customer_favourite_category",
                        "int_customer_send_slots")
            or k[1].startswith("int_anonymous")}


def _build_times(db) -> dict[str, int]:
    """How many distinct build times the rows of each by-customer model carry."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {m: con.execute(f"select count(distinct _built_at) from intermediate.{m}"
                               ).fetchone()[0] for m in BY_CUSTOMER}
    finally:
        con.close()


def _build_time_rows(db) -> dict[str, tuple[int, int, int]]:
    """Rows of each by-customer model built by its first build, by its newest, in all."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {m: con.execute(f"""
            select count_if(_built_at = (select min(_built_at) from intermediate.{m})),
                count_if(_built_at = (select max(_built_at) from intermediate.{m})),
                count(*)
            from intermediate.{m}""").fetchone() for m in BY_CUSTOMER}
    finally:
        con.close()


def test_incremental_staging_equals_a_full_refresh_after_new_and_changed_files(
        generated, tmp_path):
    """New files with duplicates, conflicts, newer versions and unknown customers, web
    events that move an anonymous id to another customer and email events that move a
    message; then the CRM learns the customer and a file is re-landed shorter. After
    each incremental run the staging and the models incremental by customer equal a
    full refresh of the same raw data; the first run recomputed only the touched
    customers, the second (rows were deleted) everyone."""
    landing = tmp_path / "landing"
    shutil.copytree(generated.landing, landing)
    db = tmp_path / "warehouse.duckdb"
    from customer_segments.land import land

    land(landing, db)
    run_dbt(db, tmp_path, "seed")
    run_dbt(db, tmp_path, "run", *STAGING)
    con = duckdb.connect(str(db), read_only=True)
    events = con.execute("select * exclude (_source_file, _source_row, _extra_fields, "
                         "_landed_at) from raw.events where event_id is not null "
                         "order by event_id limit 40").df()
    orders = con.execute("""
        select * exclude (_source_file, _source_row, _extra_fields, _landed_at)
        from raw.orders where order_id in (
            select order_id from staging.stg_shop__orders where order_status = 'completed'
            order by order_id limit 3)""").df()
    customer = con.execute("select customer_id from staging.stg_crm__customers limit 1"
                           ).fetchone()[0]
    # an anonymous id identified as someone else, and a message of someone else
    anon = con.execute("""
        select * exclude (_source_file, _source_row, _extra_fields, _landed_at)
        from raw.events where anonymous_id in (
            select anonymous_id from intermediate.int_anonymous_ids_stitched
            where customer_id != ? order by anonymous_id limit 2)
        limit 2""", [customer]).df()
    email = con.execute("""
        select * exclude (_source_file, _source_row, _extra_fields, _landed_at)
        from raw.email_events where message_id in (
            select message_id from intermediate.int_email_messages
            where customer_id != ? order by message_id limit 2)
        limit 2""", [customer]).df()
    # anonymous ids of one customer each (not the two above): one raw event of each,
    # with the id's first identification as text
    ids = con.execute("""
        select stitched.anonymous_id, stitched.customer_id,
            cast(stitched.first_identified_at as varchar) || '+00' as first_at,
            min(raw.event_id) as event_id
        from intermediate.int_anonymous_ids_stitched as stitched
        inner join raw.events as raw on raw.anonymous_id = stitched.anonymous_id
        where stitched.customer_count = 1 and stitched.customer_id != ?
            and stitched.anonymous_id not in (select anonymous_id from raw.events
                                               where event_id in (select unnest(?)))
        group by all order by 1 limit 4""", [customer, list(anon.event_id)]).df()
    raw_of = con.execute("select * exclude (_source_file, _source_row, _extra_fields, "
                         "_landed_at) from raw.events where event_id in (select unnest(?))",
                         [list(ids.event_id)]).df().set_index("event_id")
    con.close()
    assert len(ids) == 4

    def event_of(i, suffix, **changes):
        row = raw_of.loc[ids.event_id[i]].to_dict()
        row.update(event_id=ids.event_id[i] + suffix, event_type="page_view", **changes)
        return row

    # step 0, the usual next run: new events only. The base models take just the rows
    # landed since (no earlier row has their keys), the daily activity recounts just
    # the days of the new events, the stitching merges the new identified events into
    # what it built (an id seen again with its customer, a new id), and all equal a
    # full refresh.
    fresh = events.iloc[0:10].assign(event_id=lambda d: d.event_id + "-fresh",
                                     customer_id=customer, anonymous_id=None)
    seen_again = pd.DataFrame([
        event_of(0, "-again", customer_id=ids.customer_id[0],
                 event_at="2026-11-01T00:00:00Z"),
        event_of(0, "-newid", anonymous_id="ANON-NEW", customer_id=customer),
        event_of(0, "-newid2", anonymous_id="ANON-NEW", customer_id=customer,
                 event_at="2019-06-01T00:00:00Z")])
    pd.concat([fresh, seen_again]).to_parquet(landing / "events" / "step0.parquet",
                                              index=False)
    land(landing, db)
    assert _models_reading_only_new_rows(db, tmp_path) == {
        "base_web__events", "base_esp__email_events", "base_shop__orders",
        "int_anonymous_ids_stitched", "int_customer_activity_daily",
        "int_customer_category_daily", "int_customers_unified",
        "int_customer_favourite_category", "int_customer_send_slots"}
    assert _same_as_full_refresh(db, tmp_path / "r0")
    # step 0b, new rows only again, which move ids: one seen earlier with someone else
    # (it changes hands), one later with someone else (a shared device now), one at the
    # very time of its first identification (recomputed from all its rows). The
    # stitching still merges; the daily tables redo the customers of the moved events.
    pd.DataFrame([
        event_of(1, "-earlier", customer_id=customer, event_at="2019-01-01T00:00:00Z"),
        event_of(2, "-later", customer_id=customer, event_at="2026-11-01T00:00:00Z"),
        event_of(3, "-tie", customer_id=customer, event_at=ids.first_at[3])]).to_parquet(
        landing / "events" / "step0b.parquet", index=False)
    land(landing, db)
    assert _models_reading_only_new_rows(db, tmp_path) == {
        "base_web__events", "base_esp__email_events", "base_shop__orders",
        "int_anonymous_ids_stitched"}
    assert _same_as_full_refresh(db, tmp_path / "r0b")
    con = duckdb.connect(str(db), read_only=True)
    stitched = con.execute("select anonymous_id, customer_id, customer_count "
                           "from intermediate.int_anonymous_ids_stitched "
                           "where anonymous_id in (select unnest(?))",
                           [[*ids.anonymous_id, "ANON-NEW"]]).df().set_index("anonymous_id")
    con.close()
    assert stitched.loc["ANON-NEW"].tolist() == [customer, 1]
    assert stitched.loc[ids.anonymous_id[0]].tolist() == [ids.customer_id[0], 1]
    assert stitched.loc[ids.anonymous_id[1]].tolist() == [customer, 2]
    assert stitched.loc[ids.anonymous_id[2]].tolist() == [ids.customer_id[2], 2]
    assert stitched.loc[ids.anonymous_id[3], "customer_count"] == 2
    # step 0c: step0b.parquet re-landed with another customer on one row (same rows,
    # so nothing is deleted): every row it staged landed since, but they replace rows
    # built before, so nothing merges (restaging_log) and all equal a full refresh
    pd.DataFrame([
        event_of(1, "-earlier", customer_id=ids.customer_id[2],
                 event_at="2019-01-01T00:00:00Z"),
        event_of(2, "-later", customer_id=customer, event_at="2026-11-01T00:00:00Z"),
        event_of(3, "-tie", customer_id=customer, event_at=ids.first_at[3])]).to_parquet(
        landing / "events" / "step0b.parquet", index=False)
    land(landing, db)
    assert _models_reading_only_new_rows(db, tmp_path) == {
        "base_esp__email_events", "base_shop__orders"}
    assert _same_as_full_refresh(db, tmp_path / "r0c")
    # step 1: exact duplicates, conflicts, new events, an unknown customer, new versions
    dupes = events.head(20)
    conflicts = events.iloc[20:30].assign(event_type="search", category="toys")
    new = events.iloc[30:40].assign(event_id=lambda d: d.event_id + "-new",
                                    customer_id=customer)
    unknown = events.iloc[30:35].assign(event_id=lambda d: d.event_id + "-unk",
                                        customer_id="CNEW1")
    moved = anon.assign(event_id=lambda d: d.event_id + "-moved", customer_id=customer,
                        event_at="2020-01-01T00:00:00Z")
    pd.concat([dupes, conflicts, new, unknown, moved]).to_parquet(
        landing / "events" / "step1.parquet", index=False)
    email.assign(email_event_id=lambda d: d.email_event_id + "-moved",
                 customer_id=customer).to_parquet(
        landing / "email_events" / "step1.parquet", index=False)
    newer = orders.assign(status="refunded", updated_at="2030-01-01T00:00:00Z")
    unknown_orders = orders.head(2).assign(order_id=lambda d: d.order_id + "-unk",
                                           customer_id="CNEW1")
    late = pd.concat([newer, unknown_orders])
    late.to_csv(landing / "orders" / "late.csv", index=False)
    land(landing, db)
    # events and orders have keys landed before (duplicates, versions): searched in raw
    assert _models_reading_only_new_rows(db, tmp_path) == {"base_esp__email_events"}
    assert _same_as_full_refresh(db, tmp_path / "r1")
    # recomputed only the touched customers: the rows of the first build are still
    # there beside those of this run
    assert all(first > 0 and 0 < last < total
               for first, last, total in _build_time_rows(db).values()), _build_time_rows(db)
    # the anonymous events redone: the new ones and those of the two ids that moved,
    # not every anonymous event of every id with a new row
    con = duckdb.connect(str(db), read_only=True)
    redone, new, widened = con.execute("""
        with newest as (
            select * from staging.base_web__events
            where _staged_at = (select max(_staged_at) from staging.base_web__events)
        )
        select
            (select count(*) from intermediate.int_anonymous_events_stitched
             where _built_at = (select max(_built_at)
                                from intermediate.int_anonymous_events_stitched)),
            (select count(*) from newest
             where _row_status = 'staged' and customer_id is null),
            (select count(*) from staging.stg_web__events
             where customer_id is null
                and anonymous_id in (select anonymous_id from newest))""").fetchone()
    con.close()
    assert 0 < new < redone < widened, (new, redone, widened)
    # step 2: the CRM learns CNEW1; late.csv is re-landed with two rows only
    crm = landing / "customers" / "new.csv"
    header = next(iter(sorted((landing / "customers").glob("*.csv")))).read_text() \
        .splitlines()[0]
    crm.write_text(header + "\n" + ",".join(
        {"customer_id": "CNEW1", "email": "new@example.com", "first_name": "Nia",
         "signup_at": "2026-01-01T00:00:00Z", "email_consent": "true",
         "updated_at": "2026-01-01T00:00:00Z"}.get(c.strip('"'), "")
        for c in header.split(",")) + "\n")
    late.head(2).to_csv(landing / "orders" / "late.csv", index=False)
    land(landing, db)
    assert _models_reading_only_new_rows(db, tmp_path) == set()  # the CRM changed
    con = duckdb.connect(str(db), read_only=True)
    unknown_left = con.execute("select count(*) from quality.quarantined_rows "
                               "where reason_code = 'unknown_customer_id' "
                               "and raw_record like '%CNEW1%'").fetchone()[0]
    late_rows = con.execute("select count(*) from staging.base_shop__orders "
                            "where _source_file = 'orders/late.csv'").fetchone()[0]
    con.close()
    assert unknown_left == 0 and late_rows == 2
    assert _same_as_full_refresh(db, tmp_path / "r2")
    assert all(n == 1 for n in _build_times(db).values()), _build_times(db)


def test_lifecycle_as_of_later_recomputes_only_the_due_customers(generated, tmp_path):
    """The as-of date moves forward (a new day): int_lifecycle_current recomputes the
    customers with an activity or threshold day in between, and equals a full refresh;
    moved back, it recomputes everyone."""
    db = tmp_path / "w.duckdb"
    shutil.copy(generated.db, db)
    con = duckdb.connect(str(db), read_only=True)
    last = con.execute("select max(activity_date) "
                       "from intermediate.int_customer_activity_daily").fetchone()[0]
    con.close()

    def build(target, days_back: int, *extra: str) -> dict:
        as_of = (pd.Timestamp(last) - pd.Timedelta(days=days_back)).date().isoformat()
        run_dbt(target, tmp_path, "run", "--select", "int_lifecycle_current",
                "user_lifecycle", "--vars", f"{{as_of: '{as_of}'}}", *extra)
        c = duckdb.connect(str(target), read_only=True)
        try:
            return dict(zip(("rows", "build_times", "recomputed"), c.execute(
                "select count(*), count(distinct _built_at), "
                "count_if(_built_at = (select max(_built_at) "
                "from intermediate.int_lifecycle_current)) "
                "from intermediate.int_lifecycle_current").fetchone(), strict=True))
        finally:
            c.close()

    back = build(db, 40)  # the as-of date moved back: everyone
    assert back["build_times"] == 1
    forward = build(db, 30)  # ten days later: only the due customers
    assert forward["build_times"] == 2 and 0 < forward["recomputed"] < forward["rows"]
    full = tmp_path / "full.duckdb"
    shutil.copy(db, full)
    build(full, 30, "--full-refresh")
    marts = {k: v for k, v in checksums(db).items()
             if k[1] in ("int_lifecycle_current", "user_lifecycle")}
    assert len(marts) == 2
    assert not differences(marts, {k: v for k, v in checksums(full).items() if k in marts})


def _models_reading_only_new_rows(db, work) -> set[str]:
    """Run the staging incrementally; the base models that took only the rows landed
    since (their debug log line, see incremental_rows) and the models that recounted
    only the days of new web events (see only_new_web_events)."""
    log = work / "logs" / "dbt.log"
    before = log.stat().st_size if log.exists() else 0
    run_dbt(db, work, "run", *STAGING)
    with log.open(encoding="utf-8") as f:
        f.seek(before)
        text = f.read()
    return set(re.findall(r"(base_\w+): only the rows landed since", text)) | set(
        re.findall(r"(int_\w+): only new web events since the last build", text))


def _same_as_full_refresh(db, work) -> bool:
    work.mkdir()
    full = work / "full.duckdb"
    shutil.copy(db, full)
    run_dbt(full, work, "run", *STAGING, "--full-refresh")
    diff = differences(_staging_checksums(db), _staging_checksums(full))
    assert not diff, diff
    return True


def test_a_duplicate_fails_the_uniqueness_test_until_it_is_gone(generated, tmp_path):
    """The large tables' uniqueness tests check only the keys changed since the newest
    whole build that passed. A duplicate row added since fails the build, and goes on
    failing the builds after it (a failed build does not count as tested)."""
    db = tmp_path / "w.duckdb"
    shutil.copy(generated.db, db)
    con = duckdb.connect(str(db))
    con.execute("""
        insert into intermediate.int_anonymous_events_stitched
        select * replace (now() as _built_at)
        from intermediate.int_anonymous_events_stitched
        where customer_id is not null limit 1""")
    con.close()
    for _ in range(2):
        proc = run_dbt(db, tmp_path, "build", check=False)
        assert proc.returncode != 0
        assert "FAIL 1 unique_since_tested_int_events_stitched__built_at__event_id" \
            in proc.stdout, \
            proc.stdout[-3000:]
    con = duckdb.connect(str(db))
    con.execute("""
        delete from intermediate.int_anonymous_events_stitched where rowid in (
            select max(rowid) from intermediate.int_anonymous_events_stitched
            group by event_id having count(*) > 1)""")
    con.close()
    run_dbt(db, tmp_path, "build")


def test_a_duplicate_fails_the_uniqueness_test_when_most_rows_are_untested(
        generated, tmp_path):
    """With most rows changed since the last passing whole build (a first or full
    build) the test takes its other plans: a hash of the key (event ids), bitmaps of
    the row numbers per file (staged rows' file and row). A duplicate still fails both;
    a row numbered 65,536 past another (the same bit of the next block) is no duplicate."""
    db = tmp_path / "w.duckdb"
    shutil.copy(generated.db, db)
    con = duckdb.connect(str(db))
    con.execute("delete from quality.dbt_invocations")  # nothing tested yet
    con.execute("""
        insert into intermediate.int_anonymous_events_stitched
        select * from intermediate.int_anonymous_events_stitched
        where customer_id is not null limit 1""")
    con.execute("""
        insert into staging.base_web__events
        -- rows the stitched events do not read, so that test counts only its own
        select * from staging.base_web__events where _row_status = 'quarantined' limit 2""")
    con.execute("""
        insert into staging.base_web__events
        select * replace (_source_row + 65536 as _source_row) from staging.base_web__events
        where _source_row < 1000 and (customer_id is null or _row_status <> 'staged')
        limit 3""")
    con.close()
    tests = ["unique_since_tested_int_events_stitched__built_at__event_id",
             "unique_since_tested_base_web__events__source_file___source_row"]
    proc = run_dbt(db, tmp_path, "test", "--select", *tests, check=False)
    assert proc.returncode != 0
    assert f"FAIL 1 {tests[0]}" in proc.stdout, proc.stdout[-3000:]
    assert f"FAIL 2 {tests[1]}" in proc.stdout, proc.stdout[-3000:]
    compiled = list((tmp_path / "target").rglob(f"{tests[0]}.sql"))
    assert compiled and "repeated_hashes" in compiled[0].read_text()
    compiled = list((tmp_path / "target").rglob(f"{tests[1]}.sql"))
    assert compiled and "bitstring_agg" in compiled[0].read_text()
