"""The Python models end to end on 20k generated customers over two years: clusters
against the planted personas, churn against an oracle that knows the planted rule,
value against what happened; leakage, stability and the quality gates."""

from __future__ import annotations

import json
import shutil

import duckdb
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score, roc_auc_score

from customer_segments.generate import GenerateConfig, generate
from customer_segments.land import copy_parquet_rows_into_tables
from customer_segments.ml.churn import BOOSTER_PARAMS

from .conftest import Build, build_landing, run_dbt
from .oracle import oracle_churn_probability

pytestmark = pytest.mark.dbt

ML_MODELS = "+ml_model_runs ml_user_clusters ml_churn_scores ml_user_churn ml_user_value"


@pytest.fixture(scope="module")
def big(tmp_path_factory) -> Build:
    root = tmp_path_factory.mktemp("ml20k")
    cfg = GenerateConfig(customers=20_000, days=730, seed=5)
    generate(cfg, root / "landing", root / "truth", progress=False)
    return build_landing(root, root / "landing", root / "truth")


def _runs(build: Build) -> pd.DataFrame:
    con = duckdb.connect(str(build.db), read_only=True)
    try:
        return con.execute("select * from marts.ml_model_runs").df()
    finally:
        con.close()


def _accepted(build: Build, model: str) -> pd.Series:
    runs = _runs(build)
    row = runs[(runs.model_name == model) & (runs.status == "accepted")]
    assert len(row) == 1, runs[["model_name", "status", "reason"]]
    return row.iloc[0]


def test_clusters_recover_the_planted_personas(big):
    truth = pd.read_parquet(big.truth / "customers.parquet").set_index("customer_id")
    con = duckdb.connect(str(big.db), read_only=True)
    df = con.execute("""
        select c.customer_id, c.cluster_id, c.cluster_name,
               f.favourite_category is not null or f.lifetime_orders > 0
               or f.opens_365d > 0 as has_signal
        from ml.ml_user_clusters c join marts.user_features f using (customer_id)""").df()
    con.close()
    persona = df.customer_id.map(truth.persona)
    ari = adjusted_rand_score(persona, df.cluster_id)
    signal = df.has_signal
    ari_signal = adjusted_rand_score(persona[signal], df.cluster_id[signal])
    print(f"ARI all customers {ari:.3f}; with any behaviour ({signal.mean():.0%}) "
          f"{ari_signal:.3f}")
    assert ari >= 0.8
    assert ari_signal >= 0.8
    # the names say what the planted personas are
    top = pd.crosstab(persona, df.cluster_name).idxmax(axis=1)
    assert top["loyal_high_value"] == "high-value loyal"
    assert top["bargain_hunter"] == "bargain hunters"
    assert top["window_shopper"] == "window shoppers"
    assert top["disengaged"] == "dormant"
    clusters = _accepted(big, "clusters")
    assert clusters.k >= 4 and clusters.silhouette > 0


def test_churn_is_near_the_oracle_and_calibrated(big):
    churn = _accepted(big, "churn")
    truth = pd.read_parquet(big.truth / "customers.parquet")
    con = duckdb.connect(str(big.db), read_only=True)
    holdout = con.execute("""
        select customer_id, is_churned, as_of_date
        from intermediate.int_ml_training_examples
        where example_role = 'holdout_test'""").df()
    con.close()
    cutoff = pd.Timestamp(holdout.as_of_date.iloc[0])
    oracle = holdout.customer_id.map(oracle_churn_probability(truth, cutoff, 90))
    oracle_auc = roc_auc_score(holdout.is_churned, oracle)
    print(f"churn ROC-AUC {churn.roc_auc:.3f}, oracle {oracle_auc:.3f}, calibration "
          f"error {churn.calibration_error:.3f}, lift@20% {churn.lift_top_20:.2f}")
    assert churn.roc_auc >= 0.75
    assert churn.roc_auc >= oracle_auc - 0.03
    assert churn.calibration_error <= 0.05
    importances = json.loads(churn.feature_importances)
    assert len(importances) >= 5
    # the run records the booster's settings (a changed learning rate shows in the runs)
    assert json.loads(churn.params)["booster"] == json.loads(json.dumps(BOOSTER_PARAMS))


def test_value_forecast_is_close_in_aggregate(big):
    value = _accepted(big, "value")
    print(f"value: revenue error {value.value_revenue_error:+.3f}, orders error "
          f"{value.value_orders_error:+.3f}, rank correlation {value.value_rank_correlation:.3f}")
    assert abs(value.value_revenue_error) <= 0.10
    assert abs(value.value_orders_error) <= 0.10
    assert value.value_rank_correlation > 0.4
    assert json.loads(value.params)["booster"] == json.loads(json.dumps(BOOSTER_PARAMS))
    con = duckdb.connect(str(big.db), read_only=True)
    n, dated = con.execute("select count(*), count(expected_next_order_date) "
                           "from ml.ml_user_value").fetchone()
    con.close()
    assert n == 20_000 and 0 < dated < n


def test_every_customer_is_scored_with_the_planned_tier_shares(big):
    con = duckdb.connect(str(big.db), read_only=True)
    tiers = dict(con.execute("select churn_risk_tier, count(*) from ml.ml_user_churn "
                             "group by 1").fetchall())
    con.close()
    assert tiers == {"high": 4_000, "medium": 6_000, "low": 10_000}


def test_segments_keep_their_names_between_runs_days_apart(big, tmp_path):
    db = tmp_path / "w.duckdb"
    shutil.copy(big.db, db)
    con = duckdb.connect(str(db))
    last = con.execute("select max(activity_date) from "
                       "intermediate.int_customer_activity_daily").fetchone()[0]
    for table in ("ml_clusters_fit", "ml_user_clusters"):
        con.execute(f"drop table if exists ml.{table}")
    con.close()

    def assignments(as_of) -> pd.Series:
        # refit on every date: the test is about refits, not the cadence that skips them
        run_dbt(db, tmp_path, "build", "--select", "+ml_user_clusters", "--exclude",
                "test_type:unit", "--vars", f"{{as_of: '{as_of}', ml_refit_every_days: 0}}")
        c = duckdb.connect(str(db), read_only=True)
        try:
            return c.execute("select customer_id, cluster_name from ml.ml_user_clusters"
                             ).df().set_index("customer_id").cluster_name
        finally:
            c.close()

    before = assignments(pd.Timestamp(last) - pd.Timedelta(days=7))
    after = assignments(pd.Timestamp(last))
    both = before.index.intersection(after.index)
    same = (before[both] == after[both]).mean()
    print(f"same segment name a week later: {same:.1%} of {len(both)} customers")
    assert same >= 0.95


def test_scores_ignore_everything_after_the_as_of_date(generated, tmp_path):
    """Pin as_of, build the models; rewrite every event, order and email after it; rebuild:
    training features, labels and scores are identical (no leakage)."""
    db = tmp_path / "w.duckdb"
    shutil.copy(generated.db, db)
    con = duckdb.connect(str(db))
    last = con.execute("select max(activity_date) from "
                       "intermediate.int_customer_activity_daily").fetchone()[0]
    con.close()
    as_of = (pd.Timestamp(last) - pd.Timedelta(days=20)).date().isoformat()

    def drop_fits(c) -> None:  # both runs fit from scratch: no reuse, no warm start
        for table in ("ml_churn_fit", "ml_value_fit", "ml_clusters_fit"):
            c.execute(f"drop table if exists ml.{table}")

    c0 = duckdb.connect(str(db))
    drop_fits(c0)
    c0.close()
    args = ["build", "--select", *ML_MODELS.split(), "+int_ml_training_examples",
            "--exclude", "test_type:unit", "--vars",
            f"{{as_of: '{as_of}', ml_gate_min_customers: 100, ml_gate_min_history_days: 60,"
            " churn_horizon_days: 45}"]

    def outputs() -> dict[str, pd.DataFrame]:
        run_dbt(db, tmp_path, *args)
        c = duckdb.connect(str(db), read_only=True)
        try:
            return {t: c.execute(f"select * exclude (model_run_id) from {t} "
                                 "order by customer_id").df()
                    for t in ("ml.ml_user_churn", "ml.ml_user_value", "ml.ml_user_clusters")} | {
                "examples": c.execute("select * from intermediate.int_ml_training_examples "
                                      "order by example_role, customer_id").df()}
        finally:
            c.close()

    before = outputs()
    end = f"timestamp '{as_of}' + interval 1 day"
    after_cutoff = "timezone('UTC', try_cast({} as timestamptz)) >= " + end
    # the Parquet files' rows into the raw tables, to rewrite them in place
    assert copy_parquet_rows_into_tables(db) > 1000
    con = duckdb.connect(str(db))
    con.execute("set TimeZone = 'UTC'")
    changed = sum(con.execute(sql).fetchone()[0] for sql in (
        f"update raw._events_rows set event_type = 'add_to_cart' "
        f"where {after_cutoff.format('event_at')}",
        f"update raw._orders_rows set revenue = '9999.00' "
        f"where {after_cutoff.format('ordered_at')}",
        f"update raw._email_events_rows set event_type = 'click', user_agent = 'human' "
        f"where {after_cutoff.format('event_at')}",
    ))
    drop_fits(con)  # and fit again from scratch: a reused fit would hide a leak
    con.close()
    assert changed > 500
    after = outputs()
    for name in before:
        pd.testing.assert_frame_equal(before[name], after[name], obj=name)
    assert not before["ml.ml_user_churn"].is_rule_based.any()


def test_gates_keep_the_previous_model_record_why_or_fail(generated, tmp_path):
    db = tmp_path / "w.duckdb"
    shutil.copy(generated.db, db)
    base = ["build", "--select", "ml_churn_fit", "ml_churn_scores", "ml_user_churn",
            "ml_model_runs", "--exclude", "test_type:unit"]
    small = "ml_gate_min_history_days: 60, churn_horizon_days: 45"  # 180 days of data
    run_dbt(db, tmp_path, *base[:-2], "+int_ml_training_examples", *base[-2:], "--vars",
            f"{{{small}}}")  # an accepted fit as the previous model
    con = duckdb.connect(str(db), read_only=True)
    first = con.execute("select run_id, status from ml.ml_churn_fit").fetchall()
    con.close()
    assert [s for _, s in first] == ["accepted"]
    run_dbt(db, tmp_path, *base, "--vars", f"{{{small}, ml_gate_min_churn_auc: 0.999}}")
    con = duckdb.connect(str(db), read_only=True)
    fit = con.execute("select run_id, status, reason from ml.ml_churn_fit").fetchall()
    scored_by = con.execute("select distinct model_run_id from ml.ml_user_churn").fetchall()
    runs = con.execute("select status, reason from marts.ml_model_runs "
                       "where model_name = 'churn' and status != 'rule_based' "
                       "order by fitted_at").fetchall()
    con.close()
    assert [s for _, s, _ in fit] == ["rejected", "accepted"]
    assert "roc_auc" in fit[0][2] and "< minimum 0.999" in fit[0][2]
    assert scored_by == [(first[0][0],)]  # the previous good model still scores
    assert [s for s, _ in runs] == ["accepted", "rejected"]
    failed = run_dbt(db, tmp_path, *base, "--vars",
                     f"{{{small}, ml_gate_min_churn_auc: 0.999, ml_gate_on_failure: fail}}",
                     check=False)
    assert failed.returncode != 0 and "fit rejected" in failed.stdout


def test_too_little_data_falls_back_to_rules(generated, tmp_path):
    db = tmp_path / "w.duckdb"
    shutil.copy(generated.db, db)
    run_dbt(db, tmp_path, "build", "--select", *ML_MODELS.split(), "--exclude",
            "test_type:unit", "--vars", "{ml_gate_min_customers: 1000000}")
    con = duckdb.connect(str(db), read_only=True)
    statuses = dict(con.execute("select model_name, status from ml.ml_churn_fit union all "
                                "select model_name, status from ml.ml_value_fit union all "
                                "select model_name, status from ml.ml_clusters_fit").fetchall())
    rule_based = con.execute("""
        select bool_and(c.is_rule_based), bool_and(v.is_rule_based), bool_and(k.is_rule_based),
               count(*), count(distinct c.churn_probability)
        from ml.ml_user_churn c join ml.ml_user_value v using (customer_id)
        join ml.ml_user_clusters k using (customer_id)""").fetchone()
    con.close()
    assert statuses == {"churn": "rule_based", "value": "rule_based", "clusters": "rule_based"}
    assert rule_based[:3] == (True, True, True) and rule_based[3] == 1200
    assert 2 <= rule_based[4] <= 7  # one prior per lifecycle stage


def test_training_examples_cover_a_bounded_deterministic_sample(generated, tmp_path):
    """Above ml_max_fit_rows customers, the point-in-time examples are computed for that
    many customers only: those with the smallest md5(seed:customer_id), as documented."""
    import hashlib

    db = tmp_path / "w.duckdb"
    shutil.copy(generated.db, db)
    cap = 300
    run_dbt(db, tmp_path, "build", "--select", "int_ml_fit_customers",
            "int_ml_training_examples", "--exclude", "test_type:unit", "--vars",
            f"{{ml_max_fit_rows: {cap}, ml_random_state: 7}}")
    con = duckdb.connect(str(db), read_only=True)
    customers = [r[0] for r in con.execute(
        "select customer_id from intermediate.int_customers_unified").fetchall()]
    sample = {r[0] for r in con.execute(
        "select customer_id from intermediate.int_ml_fit_customers").fetchall()}
    examples = con.execute("select example_role, customer_id "
                           "from intermediate.int_ml_training_examples").df()
    con.close()
    assert len(customers) > cap
    expected = sorted(customers, key=lambda c: (hashlib.md5(f"7:{c}".encode()).hexdigest(), c))
    assert sample == set(expected[:cap])
    assert set(examples.customer_id) <= sample
    for role, rows in examples.groupby("example_role"):
        assert 0.5 * cap <= len(rows) <= cap, role  # customers known at that cutoff


def test_training_examples_are_computed_only_when_a_refit_may_happen(generated, tmp_path):
    """Between refits the point-in-time examples are kept (not computed) and the fits
    keep their model; past the cadence, or with other settings, they are computed."""
    db = tmp_path / "w.duckdb"
    shutil.copy(generated.db, db)
    con = duckdb.connect(str(db), read_only=True)
    last = con.execute("select max(activity_date) "
                       "from intermediate.int_customer_activity_daily").fetchone()[0]
    con.close()
    small = "ml_gate_min_history_days: 60, churn_horizon_days: 45, ml_refit_every_days: 7"

    def build(days_back: int, extra: str = "") -> tuple[set, set]:
        as_of = (pd.Timestamp(last) - pd.Timedelta(days=days_back)).date().isoformat()
        run_dbt(db, tmp_path, "build", "--select", "+int_ml_training_examples",
                "ml_churn_fit", "ml_value_fit", "--exclude", "test_type:unit", "--vars",
                f"{{as_of: '{as_of}', {small}{extra}}}")
        c = duckdb.connect(str(db), read_only=True)
        try:
            examples = {r[0] for r in c.execute(
                "select distinct as_of_date from intermediate.int_ml_training_examples"
            ).fetchall()}
            fits = {r for r in c.execute(
                "select run_id, status from ml.ml_churn_fit union all "
                "select run_id, status from ml.ml_value_fit").fetchall()}
        finally:
            c.close()
        return examples, fits

    con = duckdb.connect(str(db))
    for table in ("ml_churn_fit", "ml_value_fit"):
        con.execute(f"drop table if exists ml.{table}")
    con.close()
    first_examples, first_fits = build(20)
    assert {s for _, s in first_fits} == {"accepted"}
    kept_examples, kept_fits = build(17)  # 3 days later: within the cadence
    assert kept_examples == first_examples and kept_fits == first_fits
    due_examples, due_fits = build(10)  # 10 days after the fit: due
    assert due_examples != first_examples and not due_fits & first_fits
    again, _ = build(10, ", ml_max_fit_rows: 150000")  # other settings: computed again
    con = duckdb.connect(str(db), read_only=True)
    settings = con.execute("select distinct examples_settings "
                           "from intermediate.int_ml_training_examples").fetchall()
    con.close()
    assert again == due_examples and settings == [("horizon=45;max_fit_rows=150000;seed=42",)]
