"""user_segments: consent, holdout and the playbook on generated data."""

from __future__ import annotations

import hashlib

import duckdb
import pandas as pd
import pytest
import yaml

from customer_segments import contract

from .conftest import PROJECT

pytestmark = pytest.mark.dbt


@pytest.fixture(scope="module")
def segments(generated) -> pd.DataFrame:
    con = duckdb.connect(str(generated.db), read_only=True)
    try:
        return con.execute("select * from activation.user_segments").df()
    finally:
        con.close()


def test_one_row_per_known_customer(generated, segments):
    truth = pd.read_parquet(generated.truth / "customers.parquet")
    assert segments.customer_id.is_unique and len(segments) == len(truth)


def test_only_consented_customers_carry_pii_or_are_exportable(segments):
    not_ok = segments[segments.consent_status != "consented"]
    assert len(not_ok) > 50
    assert not_ok.email.isna().all() and not_ok.first_name.isna().all()
    assert not not_ok.is_exportable.any()
    ok = segments[segments.consent_status == "consented"]
    assert ok.email.notna().all()


def test_suppressions_follow_the_planted_consent_and_unsubscribes(generated, segments):
    truth = pd.read_parquet(generated.truth / "customers.parquet").set_index("customer_id")
    s = segments.set_index("customer_id")
    never = truth.index[~truth.email_consent]
    assert (s.loc[never, "consent_status"] != "consented").all()
    unsubscribed = truth.index[truth.unsubscribed_at.notna()]
    assert s.loc[unsubscribed, "consent_status"].isin(["unsubscribed", "complained"]).all()


def test_holdout_is_the_documented_hash_and_share(segments):
    project = yaml.safe_load((PROJECT / "dbt_project.yml").read_text())
    salt, share = project["vars"]["holdout_salt"], project["vars"]["holdout_share"]

    def bucket(customer_id: str) -> int:
        digest = hashlib.md5(f"{salt}:{customer_id}".encode()).hexdigest()
        return int(digest[:8], 16) % 10_000

    expected = segments.customer_id.map(bucket) < share * 10_000
    assert (segments.is_holdout == expected).all()
    assert abs(segments.is_holdout.mean() - share) < 0.02
    assert not segments[segments.is_holdout].is_exportable.any()


def test_next_best_action_is_the_first_matching_playbook_rule(segments):
    assert segments.next_best_action.notna().all()
    carts = segments[segments.is_cart_abandoner]
    assert len(carts) > 0 and (carts.next_best_action == "cart reminder").all()
    champions = segments[(segments.rfm_segment == "champions") & ~segments.is_cart_abandoner
                         & (segments.lifecycle_stage != "new")]
    assert (champions.next_best_action == "VIP early access").all()


EXPORTED = ["email", "first_name", "rfm_segment", "engagement_tier", "lifecycle_stage",
            "favourite_category", "cluster_name", "churn_risk_tier", "next_best_action",
            "best_send_hour", "is_cart_abandoner", "is_high_value", "is_bargain_hunter",
            "is_window_shopper", "is_new_subscriber"]


def test_export_hash_changes_exactly_when_an_exported_field_changes(segments):
    assert segments.export_hash.str.fullmatch(r"[0-9a-f]{32}").all()
    fields = segments[EXPORTED].map(repr)
    key = fields.apply("|".join, axis=1)
    # same exported fields <=> same hash
    assert segments.groupby(key).export_hash.nunique().max() == 1
    assert segments.groupby("export_hash").apply(lambda g: key[g.index].nunique()).max() == 1
    assert key.nunique() > 100


def test_history_and_events_across_builds_and_a_backfill(generated, tmp_path):
    import shutil

    from .conftest import run_dbt
    db = tmp_path / "w.duckdb"
    shutil.copy(generated.db, db)
    con = duckdb.connect(str(db))
    last = con.execute("select max(as_of_date) from activation.user_segments").fetchone()[0]
    con.execute("drop table activation.user_segment_history")
    con.close()
    first = (pd.Timestamp(last) - pd.Timedelta(days=14)).date().isoformat()
    args = ["build", "--select", "+user_segment_events", "--exclude", "test_type:unit"]
    vars_small = "ml_gate_min_customers: 100000"  # rule-based labels: quick and enough
    run_dbt(db, tmp_path, *args, "--vars", f"{{as_of: '{first}', {vars_small}}}")
    run_dbt(db, tmp_path, *args, "--vars", f"{{{vars_small}}}")

    def read(sql):
        c = duckdb.connect(str(db), read_only=True)
        try:
            return c.execute(sql).df()
        finally:
            c.close()

    history = read("select * from activation.user_segment_history")
    # _built_at: when the build that wrote a row ran (differs between equal builds)
    events = read("select * exclude (_built_at) from activation.user_segment_events")
    assert sorted(history.as_of_date.astype(str).unique()) == [first, str(last)]
    wide = history.pivot(index="customer_id", columns="as_of_date", values="lifecycle_stage")
    wide.columns = ["before", "after"]
    moved = wide[wide.before.notna() & (wide.before != wide.after)]
    assert len(moved) > 10
    second = events[(events.segment_type == "lifecycle")
                    & (events.event_date.astype(str) == str(last))]
    per_customer = second.groupby("customer_id").event_type.agg(list)
    for customer, (before, after) in moved.iterrows():
        assert sorted(per_customer[customer]) == ["entered", "exited"]
        rows = second[second.customer_id == customer].set_index("event_type").segment_value
        assert rows["exited"] == before and rows["entered"] == after
    stayed = wide[wide.before == wide.after].index
    assert not second.customer_id.isin(stayed).any()
    # rebuilding the same as-of date changes nothing
    run_dbt(db, tmp_path, *args, "--vars", f"{{{vars_small}}}")
    again = read("select * exclude (_built_at) from activation.user_segment_events")
    pd.testing.assert_frame_equal(
        events.sort_values(list(events.columns)).reset_index(drop=True),
        again.sort_values(list(again.columns)).reset_index(drop=True))

    # A backfill between the two dates: the incremental build rewrites the events from
    # the backfilled date on (the last date now compares with it), and leaves the
    # dates before it alone (a marker row there survives); then it equals a full refresh.
    middle = (pd.Timestamp(last) - pd.Timedelta(days=7)).date().isoformat()
    con = duckdb.connect(str(db))
    con.execute("insert into activation.user_segment_events values "
                f"('MARKER', 'lifecycle', 'marker', 'entered', null, date '{first}', now())")
    con.close()
    run_dbt(db, tmp_path, *args, "--vars", f"{{as_of: '{middle}', {vars_small}}}")
    backfilled = read("select * exclude (_built_at) from activation.user_segment_events")
    assert (backfilled.customer_id == "MARKER").sum() == 1
    assert sorted(backfilled.event_date.astype(str).unique()) == [first, middle, str(last)]
    compared = backfilled[backfilled.event_date.astype(str) == str(last)]
    assert set(compared.previous_as_of_date.dropna().astype(str)) == {middle}
    run_dbt(db, tmp_path, "build", "--select", "user_segment_events", "--full-refresh",
            "--exclude", "test_type:unit")
    refreshed = read("select * exclude (_built_at) from activation.user_segment_events")
    kept = backfilled[backfilled.customer_id != "MARKER"]
    pd.testing.assert_frame_equal(
        kept.sort_values(list(kept.columns)).reset_index(drop=True),
        refreshed.sort_values(list(refreshed.columns)).reset_index(drop=True))


def test_analyses_compile_and_run(generated, tmp_path):
    from scipy.stats import norm

    from .conftest import run_dbt
    run_dbt(generated.db, tmp_path, "compile", "--select", "campaign_lift",
            "segment_overlap", "--vars", "{campaign_id: CMP3}")
    compiled = tmp_path / "target" / "compiled" / "customer_segments" / "analyses"
    con = duckdb.connect(str(generated.db), read_only=True)
    lift = con.execute((compiled / "campaign_lift.sql").read_text()).df().iloc[0]
    overlap = con.execute((compiled / "segment_overlap.sql").read_text()).df()
    con.close()
    assert lift.treated > 100 and lift.control > 10
    assert 0 <= lift.treated_rate <= 1 and 0 <= lift.control_rate <= 1
    # the SQL p-value matches scipy's normal distribution
    assert lift.p_value == pytest.approx(2 * norm.sf(abs(lift.z_score)), abs=1e-6)
    assert ((overlap.jaccard > 0) & (overlap.jaccard <= 1)).all()
    assert (overlap.both_customers <= overlap[["customers_a", "customers_b"]].min(axis=1)).all()


# where personal data may live is listed once, in the contract
PII_COLUMNS = set(contract.PII_COLUMNS)
PII_ALLOWED = set(contract.PII_ALLOWED_RELATIONS)


def test_pii_lives_only_where_it_is_needed(generated):
    rows = generated.query("""
        select table_schema, table_name, column_name
        from information_schema.columns
        where table_schema not in ('information_schema', 'pg_catalog')""")
    carriers = {(s, t) for s, t, c in rows if c.lower() in PII_COLUMNS}
    assert ("activation", "user_segments") in carriers
    assert carriers <= PII_ALLOWED, carriers - PII_ALLOWED
    # and the export state keeps the email only to report removals
    tables = {(s, t) for s, t, _ in rows}
    assert ("marts", "user_features") in tables and ("ml", "ml_user_churn") in tables
