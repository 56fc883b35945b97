"""dbt build on generated data: every planted bad row is quarantined with its reason,
every other row is staged or counted as a duplicate/superseded version, nothing lost."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest

from customer_segments.land import LandingError, land

from .conftest import build_landing, run_dbt

pytestmark = pytest.mark.dbt


def test_build_passes_every_dbt_test(generated):
    assert "ERROR=0" in generated.result.stdout
    assert "FAIL=" not in generated.result.stdout.replace("FAIL=0", "")


def test_quarantine_is_exactly_the_planted_bad_rows(generated):
    truth = pd.read_parquet(generated.truth / "bad_rows.parquet")
    planted = truth[truth.reason_code != "exact_duplicate"]
    expected = set(zip(planted.source, planted.source_file, planted.source_row,
                       planted.reason_code, strict=True))
    got = set(generated.query(
        "select source_name, source_file, source_row, reason_code "
        "from quality.quarantined_rows"))
    assert got == expected
    assert len(expected) > 200


def test_every_raw_row_is_accounted_for_per_source(generated):
    summary = json.loads((generated.truth / "summary.json").read_text())
    rows = generated.query(
        "select source_name, landed_rows, raw_rows, staged_rows, duplicate_rows, "
        "superseded_rows, quarantined_rows from quality.source_reconciliation")
    assert len(rows) == 4
    for source, landed, raw, staged, dup, sup, quar in rows:
        truth = summary["rows"][source]
        assert landed == raw == truth["rows"]
        assert raw == staged + dup + sup + quar
        # a copy of an older version is itself superseded, so only the sum is exact
        assert dup + sup == (truth.get("exact_duplicate", 0)
                             + summary["superseded_versions"].get(source, 0)), source
        assert dup <= truth.get("exact_duplicate", 0), source
        print(f"{source:>12}: raw {raw} = staged {staged} + duplicate {dup} + "
              f"superseded {sup} + quarantined {quar}")


def test_planted_exact_duplicates_are_deduplicated_not_staged(generated):
    truth = pd.read_parquet(generated.truth / "bad_rows.parquet")
    dups = truth[truth.reason_code == "exact_duplicate"]
    assert len(dups) > 50
    models = {"orders": ("base_shop__orders", "order_id"),
              "events": ("base_web__events", "event_id"),
              "email_events": ("base_esp__email_events", "email_event_id")}
    for source, (model, key) in models.items():
        d = dups[dups.source == source]
        per_key = generated.query(f"""
            with planted as (
                select distinct {key} as k from staging.{model}
                where (_source_file, _source_row) in (select unnest(?), unnest(?))
            )
            select k, {count_if_sql("_row_status = 'staged'")},
                   {count_if_sql("_row_status in ('duplicate', 'superseded')")}
            from staging.{model} join planted on {key} = k
            group by k""", [d.source_file.tolist(), d.source_row.tolist()])
        found = generated.scalar(
            f"select count(*) from staging.{model} "
            "where (_source_file, _source_row) in (select unnest(?), unnest(?))",
            [d.source_file.tolist(), d.source_row.tolist()])
        assert found == len(d) and len(per_key) > 0
        for k, staged, deduplicated in per_key:
            assert staged == 1 and deduplicated >= 1, (source, k, staged, deduplicated)


def count_if_sql(condition: str) -> str:
    return f"sum(case when {condition} then 1 else 0 end)"


def test_staged_rows_are_the_valid_generated_rows(generated):
    truth = pd.read_parquet(generated.truth / "customers.parquet")
    staged = generated.scalar("select count(*) from staging.stg_crm__customers")
    assert staged == len(truth)
    refunds = generated.scalar(
        "select count(*) from staging.stg_shop__orders where order_status = 'refunded'")
    summary = json.loads((generated.truth / "summary.json").read_text())
    assert refunds == summary["superseded_versions"]["orders"]


def test_anonymous_ids_stitch_to_the_planted_customer(generated):
    truth = pd.read_parquet(generated.truth / "customers.parquet")
    got = dict(generated.query(
        "select anonymous_id, customer_id from intermediate.int_anonymous_ids_stitched"))
    want = dict(zip(truth.anonymous_id, truth.customer_id, strict=True))
    assert got and all(want[a] == c for a, c in got.items())
    stitched = generated.scalar(
        "select count(*) from intermediate.int_events_stitched where is_stitched")
    assert stitched > 100


def test_timestamps_are_utc_whatever_zone_the_file_used(generated):
    # the generator renders each customer's events in their own offset; staging must
    # give back the same instants in UTC
    raw = generated.query("""
        select b.event_at, r.event_at
        from staging.base_web__events b
        join raw.events r using (_source_file, _source_row)
        where b._row_status = 'staged' and r.event_at not like '%Z'
        limit 500""")
    assert len(raw) == 500
    for utc, text in raw:
        assert pd.Timestamp(text).tz_convert("UTC").tz_localize(None) == pd.Timestamp(utc)


def test_orders_only_landing_builds_with_empty_optional_staging(generated, tmp_path):
    landing = tmp_path / "landing"
    shutil.copytree(generated.landing / "orders", landing / "orders")
    build = build_landing(tmp_path, landing)
    assert build.scalar("select count(*) from staging.stg_web__events") == 0
    assert build.scalar("select count(*) from staging.stg_crm__customers") == 0
    # without a CRM, no order can be 'unknown customer'
    assert build.scalar("select count(*) from quality.quarantined_rows "
                        "where reason_code = 'unknown_customer_id'") == 0
    assert build.scalar("select raw_rows - accounted_rows from quality.source_reconciliation "
                        "where source_name = 'orders'") == 0


def test_rebuild_with_a_new_file_lands_only_that_file(generated, tmp_path):
    landing = tmp_path / "landing"
    shutil.copytree(generated.landing, landing)
    db = tmp_path / "w.duckdb"
    land(landing, db)
    (landing / "orders" / "late.csv").write_text(
        "order_id,customer_id,ordered_at,revenue\nLATE1,C000000001,2026-09-01T00:00:00Z,9\n")
    report = land(landing, db)
    assert [(f.path, f.status) for f in report.files if f.status != "unchanged"] == [
        ("orders/late.csv", "loaded")]
    run_dbt(db, tmp_path, "build")
    import duckdb
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("select count(*) from staging.stg_shop__orders "
                       "where order_id = 'LATE1'").fetchone()[0] == 1


def test_a_file_with_wrong_columns_stops_the_build(generated, tmp_path):
    landing = tmp_path / "landing"
    shutil.copytree(generated.landing, landing)
    (landing / "events" / "export.csv").write_text("id,type,ts\n1,page_view,2024\n")
    with pytest.raises(LandingError, match="events/export.csv: missing required column"):
        land(landing, tmp_path / "w.duckdb")
