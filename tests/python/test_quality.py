"""The quality layer's own code: the GX suites catch what they claim to, the export
gates read the warehouse right, and the freshness thresholds agree everywhere."""

from __future__ import annotations

from datetime import datetime, timedelta

import duckdb
import pandas as pd
import pytest
import yaml

from customer_segments.quality import gates, suites, validate

from .conftest import PROJECT


def test_every_check_names_a_real_gx_expectation():
    import great_expectations.expectations as gxe

    settings = suites.SuiteSettings(rfm_segments=["champions"])
    for suite in suites.all_suites(settings):
        for check in suite.checks:
            assert hasattr(gxe, check.expectation), check
            assert check.severity in (suites.CRITICAL, suites.WARNING)


def test_validation_flags_bad_values_and_keeps_good_ones(tmp_path):
    settings = suites.SuiteSettings(rfm_segments=["champions", "lost"])
    rfm = next(s for s in suites.mart_suites(settings) if s.name == "user_rfm")
    good = pd.DataFrame({
        "customer_id": ["a", "b", "c"], "as_of_date": pd.to_datetime(["2026-01-01"] * 3),
        "r_score": [1, 3, 5], "f_score": [2, 3, 4], "m_score": [1, 3, 5],
        "rfm_segment": ["champions", "lost", "lost"], "recency_days": [1, 2, 3],
        "frequency": [1, 1, 2], "monetary": [1.0, 2.0, 3.0]})
    bad = good.assign(r_score=[1, 3, 7], rfm_segment=["champions", "lost", "nobody"],
                      customer_id=["a", "a", "c"])
    out = validate.validate({"user_rfm": (good, 3, False)}, [rfm], docs_dir=tmp_path / "d")
    assert out.success.all(), out[~out.success]
    assert (tmp_path / "d" / "index.html").exists()
    out = validate.validate({"user_rfm": (bad, 3, False)}, [rfm])
    failed = set(zip(out[~out.success].expectation_type, out[~out.success].column_name,
                     strict=True))
    assert failed == {("expect_column_values_to_be_between", "r_score"),
                      ("expect_column_values_to_be_in_set", "rfm_segment"),
                      ("expect_column_values_to_be_unique", "customer_id")}
    assert (out[~out.success].severity == "critical").all()


def test_a_large_relation_is_validated_on_a_key_sample_with_whole_keys():
    con = duckdb.connect()
    con.execute("create table t as select (i % 10000)::varchar as k, i "
                "from range(100000) r(i)")  # 10 rows per key
    suite = suites.Suite("t", checks=(), key="k")
    frame, total = validate.read_frame(con, "select * from t", suite, max_rows=5000)
    assert total == 100_000
    assert 4000 <= len(frame) <= 6000  # about max_rows rows: ~5% of the keys
    assert len(frame) == 10 * frame.k.nunique()  # every row of a sampled key
    again, _ = validate.read_frame(con, "select * from t", suite, max_rows=5000)
    assert set(again.k) == set(frame.k)
    whole, _ = validate.read_frame(con, "select * from t", suite, max_rows=100_000)
    assert len(whole) == 100_000


def test_a_staged_feed_is_validated_on_the_rows_staged_since_the_last_passing_build():
    con = duckdb.connect()
    con.execute("create schema q")
    con.execute("create table q.dbt_invocations as select * from (values "
                "(true, 'success', timestamp '2024-01-02 00:00:00'), "
                "(true, 'error', timestamp '2024-01-03 00:00:00'), "
                "(false, 'success', timestamp '2024-01-04 00:00:00')) "
                "as t(is_whole_build, invocation_status, finished_at)")
    since = validate.newest_passing_whole_build(con, "q.dbt_invocations")
    assert since == "2024-01-02 00:00:00"  # not the failed one, not the partial one
    assert validate.newest_passing_whole_build(con, "q.missing") is None
    con.execute("create table t as select 'e' || i as event_id, "
                "case when i = 3 then 'bogus' else 'view' end as event_type, "
                "timestamp '2024-01-01' as event_at, "
                "timestamp '2024-01-01' + i * interval 12 hour as _staged_at "
                "from range(6) r(i)")  # staged 01-01 00:00 .. 01-03 12:00
    suite = next(s for s in suites.staged_suites() if s.name == "stg_web__events")
    frame, total = validate.read_frame(con, "select * from t", suite, 100, since=since)
    # staged at or after the newest passing whole build: e2 (exactly then) .. e5
    assert sorted(frame.event_id) == ["e2", "e3", "e4", "e5"] and total == 4
    out = validate.validate({suite.name: (frame, total, False)}, [suite],
                            validated_since={suite.name: since})
    assert (out.validated_since == pd.Timestamp(since)).all()
    assert set(out[~out.success].column_name) == {"event_type"}  # e3, staged since
    # nothing staged since: an empty frame, every check holds, nothing is sampled
    later = "2024-02-01 00:00:00"
    empty, none = validate.read_frame(con, "select * from t", suite, 100, since=later)
    assert none == 0 and empty.empty
    out = validate.validate({suite.name: (empty, none, False)}, [suite])
    assert out.success.all() and out.validated_since.isna().all()
    # a suite without a changed column reads everything whatever the time
    whole = suites.Suite("t", checks=(), key="event_id")
    assert validate.read_frame(con, "select * from t", whole, 100, since=later)[1] == 6


def test_a_suite_reads_only_the_columns_its_checks_name():
    con = duckdb.connect()
    con.execute("create table t as select 'e1' as event_id, 'view' as event_type, "
                "repeat('x', 500) as user_agent, now() as event_at")
    suite = next(s for s in suites.staged_suites() if s.name == "stg_web__events")
    frame, _ = validate.read_frame(con, "select * from t", suite, max_rows=100)
    assert list(frame.columns) == ["event_id", "event_type", "event_at"]
    pair = suites.Suite("p", key=None, checks=(suites.Check(
        "ExpectColumnPairValuesToBeEqual", {"column_A": "event_at", "column_B": "event_id"}),))
    assert pair.select_list() == "event_at, event_id"
    explicit = suites.Suite("x", checks=(), select="event_id, user_agent")
    assert explicit.select_list() == "event_id, user_agent"


def test_pii_never_reaches_a_validator():
    from customer_segments import contract

    con = duckdb.connect()
    con.execute("""create table t as select 'C1' as customer_id, 'a@b.co' as email,
        'Ada' as first_name, date '2000-01-01' as birth_date, true as has_email_consent,
        'GB' as country, now() as signed_up_at, now() as updated_at, 1 as r_score""")
    carriers = {table for _, table in contract.PII_ALLOWED_RELATIONS}
    checked = 0
    for suite in suites.all_suites(suites.SuiteSettings()):
        if suite.name in carriers:  # a suite over a relation that holds PII
            frame, _ = validate.read_frame(con, "select * from t", suite, 100)
            assert not set(frame.columns) & set(contract.PII_COLUMNS), suite.name
            checked += 1
    assert checked == 2


@pytest.fixture
def con():
    c = duckdb.connect()
    c.execute("create schema quality; create schema marts; create schema raw")
    c.execute("""create table quality.dbt_invocations (invocation_id varchar,
        command varchar, invocation_status varchar, failed_nodes varchar,
        nodes_passed int, nodes_warned int, nodes_failed int, nodes_skipped int,
        started_at timestamp, finished_at timestamp)""")
    yield c
    c.close()


def _invocation(con, command, status, started, finished, failed=None):
    con.execute("insert into quality.dbt_invocations values (?, ?, ?, ?, 0, 0, 0, 0, ?, ?)",
                [f"{command}-{started}", command, status, failed, started, finished])


def test_build_gate(con):
    t0 = datetime(2026, 1, 1)
    assert gates.build_gate(duckdb.connect()).status == gates.ERROR  # no log at all
    _invocation(con, "build", "success", t0, t0 + timedelta(minutes=5))
    assert gates.build_gate(con).status == gates.OK
    _invocation(con, "test", "error", t0 + timedelta(hours=1), t0 + timedelta(hours=1),
                "test not_null_x: Got 3 results")
    gate = gates.build_gate(con)
    assert gate.status == gates.ERROR and "not_null_x" in gate.detail
    _invocation(con, "build", "running", t0 + timedelta(hours=2), None)
    gate = gates.build_gate(con)
    assert gate.status == gates.ERROR and "did not finish" in gate.detail
    _invocation(con, "build", "success", t0 + timedelta(hours=3), t0 + timedelta(hours=4))
    assert gates.build_gate(con).status == gates.OK


def test_freshness_gate(con):
    con.execute("create table raw._landed_files (source varchar, landed_at timestamp)")
    now = datetime(2026, 1, 10, 12)
    con.execute("insert into raw._landed_files values ('orders', ?), ('events', ?)",
                [now - timedelta(hours=2), now - timedelta(hours=30)])
    assert gates.freshness_gate(con, 24, 72, now).status == gates.WARN
    assert gates.freshness_gate(con, 48, 72, now).status == gates.OK
    gate = gates.freshness_gate(con, 12, 24, now)
    assert gate.status == gates.ERROR and "events" in gate.detail


def test_volume_and_models_gates(con):
    con.execute("create table quality.volume_checks (check_status varchar, "
                "check_message varchar)")
    con.execute("insert into quality.volume_checks values ('ok', 'a'), ('warn', 'b')")
    assert gates.volume_gate(con).status == gates.WARN
    con.execute("insert into quality.volume_checks values ('error', 'events all: 10x')")
    assert gates.volume_gate(con).detail == "events all: 10x"
    con.execute("create table marts.ml_model_runs (run_id varchar, model_name varchar, "
                "status varchar, reason varchar, fitted_at timestamp)")
    con.execute("insert into marts.ml_model_runs values "
                "('1', 'churn', 'accepted', '', '2026-01-01'), "
                "('2', 'churn', 'rejected', 'auc 0.6 < 0.65', '2026-01-02')")
    gate = gates.models_gate(con)
    assert gate.status == gates.WARN and "auc 0.6" in gate.detail


def test_freshness_thresholds_agree_with_the_sources_yaml():
    warn, error = gates.freshness_hours(PROJECT)
    for path in (PROJECT / "models" / "staging").glob("*/_*__sources.yml"):
        for source in yaml.safe_load(path.read_text())["sources"]:
            fresh = source.get("freshness")
            if fresh:
                assert fresh["warn_after"] == {"count": warn, "period": "hour"}, path
                assert fresh["error_after"] == {"count": error, "period": "hour"}, path


@pytest.mark.dbt
def test_a_failed_critical_expectation_fails_the_build_and_keeps_the_last_export(
        generated, tmp_path):
    import shutil

    from customer_segments.export import GateError, export

    from .conftest import run_dbt

    db = tmp_path / "w.duckdb"
    shutil.copy(generated.db, db)
    first = export(db, tmp_path / "exports")
    latest = (tmp_path / "exports" / "LATEST").read_text()
    # the suites now expect scores 1-3: the marts' 4s and 5s fail a critical check
    result = run_dbt(db, tmp_path, "build", "--select", "expectation_results",
                     "--vars", "{rfm_score_buckets: 3}", check=False)
    assert result.returncode != 0 and "no_failed_critical_expectations" in result.stdout
    con = duckdb.connect(str(db), read_only=True)
    failed = set(con.execute("select suite_name, column_name "
                             "from quality.expectation_results "
                             "where not success and severity = 'critical'").fetchall())
    state = con.execute("select count(*) from activation._export_state").fetchone()[0]
    con.close()
    assert failed == {("user_rfm", "r_score"), ("user_rfm", "f_score"),
                      ("user_rfm", "m_score")}
    with pytest.raises(GateError) as err:
        export(db, tmp_path / "exports")
    assert "[ERROR] expectations: 3 critical failed: user_rfm" in str(err.value)
    assert "[ERROR] build:" in str(err.value)
    assert (tmp_path / "exports" / "LATEST").read_text() == latest
    assert sorted(p.name for p in (tmp_path / "exports").iterdir()) == \
        sorted(["LATEST", first.folder.name])
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("select count(*) from activation._export_state").fetchone()[0] == state
    con.close()
