"""Unit tests of the modelling code on small frames (no warehouse)."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from customer_segments.ml import churn, clustering, dbt_io, runs


def test_calibration_error_is_zero_when_predictions_match_rates():
    rng = np.random.default_rng(0)
    p = np.repeat([0.1, 0.5, 0.9], 10_000)
    y = rng.random(len(p)) < p
    assert churn.calibration_error(y.astype(int), p, bins=3) < 0.01
    assert churn.calibration_error(y.astype(int), np.full(len(p), 0.9), bins=3) > 0.3


def test_lift_of_a_perfect_ranking():
    y = np.array([1] * 20 + [0] * 80)
    p = np.linspace(1, 0, 100)
    assert churn.lift_at(y, p, 0.2) == pytest.approx(5.0)


def test_gates_report_each_failure():
    gates = {"roc_auc": (">=", 0.7), "calibration_error": ("<=", 0.05)}
    assert runs.check_gates({"roc_auc": 0.8, "calibration_error": 0.01}, gates) == []
    reasons = runs.check_gates({"roc_auc": 0.6, "calibration_error": None}, gates)
    assert reasons == ["roc_auc 0.6000 < minimum 0.7", "calibration_error is not available"]


def _record(status, run_id):
    return {"run_id": run_id, "model_name": "churn", "status": status, "reason": "",
            "as_of_date": None, "fitted_at": pd.Timestamp("2024-01-01"),
            "training_rows": 1, "params": "{}", "metrics": "{}", "code_version": "x",
            "model_blob": None}


def test_a_rejected_fit_keeps_the_previous_accepted_one_or_fails():
    previous = pd.DataFrame([_record("accepted", "old")])
    new = _record("rejected", "new")
    rows = runs.choose_active(new, previous, "keep_previous")
    assert list(rows.run_id) == ["new", "old"]
    assert runs.active_model(rows)["run_id"] == "old"
    with pytest.raises(RuntimeError, match="fit rejected"):
        runs.choose_active(new, previous, "fail")
    alone = runs.active_model(runs.choose_active(new, None, "keep_previous"))
    assert alone["status"] == "rule_based" and alone["run_id"] == "new"


def test_run_ids_are_stable_for_the_same_fit():
    kw = dict(status="accepted", reason="", as_of_date="2024-01-01", training_rows=10,
              params={"a": 1}, metrics={"m": 0.5}, model_blob=None)
    assert runs.run_record("churn", **kw)["run_id"] == runs.run_record("churn", **kw)["run_id"]
    other = runs.run_record("churn", **{**kw, "training_rows": 11})
    assert other["run_id"] != runs.run_record("churn", **kw)["run_id"]
    judged = runs.run_record("churn", **{**kw, "status": "rejected", "reason": "auc"})
    assert judged["run_id"] != runs.run_record("churn", **kw)["run_id"]


def test_model_blobs_round_trip():
    obj = {"a": np.arange(3)}
    assert (runs.loads(runs.dumps(obj))["a"] == np.arange(3)).all()


def _profiles(rows):
    cols = list(clustering.NAME_COLUMNS)
    return pd.DataFrame(rows, columns=cols)


def test_clusters_are_named_by_their_strongest_trait_once_each():
    profiles = _profiles([
        [12, 110, 0.05, 0.6, 0.3, 2.0],   # many big orders
        [5, 30, 0.8, 0.3, 0.1, 1.0],      # coupons
        [0.3, 20, 0.05, 0.15, 0.02, 3.0], # visits, few orders
        [0.1, 5, 0.0, 0.01, 0.0, 0.05],   # nothing
    ])
    base = profiles.mean()
    spread = profiles.std(ddof=0)
    assert clustering.name_clusters(profiles, base, spread) == [
        "high-value loyal", "bargain hunters", "window shoppers", "dormant"]


def _toy_features(n_per: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    groups = [  # orders, revenue per order, coupon share, opens, visit days, category, hour
        (12, 110, 0.05, 0.6, 20, "home", 7), (5, 30, 0.8, 0.35, 10, "fashion", 20),
        (0.3, 50, 0.1, 0.1, 40, "electronics", 22), (0.2, 50, 0.0, 0.01, 1, "sports", 17)]
    rows = []
    for g, (orders, aov, coupon, opens, visits, cat, hour) in enumerate(groups):
        for _ in range(n_per):
            o = rng.poisson(orders)
            rows.append({
                "customer_id": f"{g}-{len(rows)}", "group": g, "frequency": o,
                "lifetime_orders": o, "lifetime_revenue": o * aov * rng.uniform(.8, 1.2),
                "observed_days": 365, "coupon_order_share": coupon if o else None,
                "opens_365d": rng.binomial(40, opens), "clicks_365d": 0,
                "deliveries_365d": 40, "visit_days_365d": rng.poisson(visits),
                "favourite_category": cat, "best_send_hour": hour, "send_time_source": "own"})
    return pd.DataFrame(rows)


def test_clusters_find_planted_groups_and_keep_ids_on_new_data():
    from sklearn.metrics import adjusted_rand_score
    first = _toy_features(150, seed=1)
    model = clustering.fit_clusters(first, k_min=3, k_max=6, random_state=0)
    a = model.assign(first)
    assert adjusted_rand_score(first.group, a.cluster_id) > 0.9
    second = _toy_features(150, seed=2)
    again = clustering.fit_clusters(second, k_min=3, k_max=6, random_state=0,
                                    previous=model)
    b = again.assign(second)
    # the same kind of customer keeps its id and name in the next run
    for g in range(4):
        first_name = a.cluster_name[first.group == g].mode().iloc[0]
        second_name = b.cluster_name[second.group == g].mode().iloc[0]
        assert first_name == second_name
    # and the model survives a JSON round trip
    back = clustering.ClusterModel.from_json(again.to_json())
    assert (back.assign(second).cluster_id == b.cluster_id).all()



def test_a_customer_without_preferences_is_placed_by_what_is_known():
    from sklearn.metrics import adjusted_rand_score
    features = _toy_features(150, seed=4)
    # a third of each group has shown no favourite category and no own send hour
    unknown = features.index % 3 == 0
    features.loc[unknown, "favourite_category"] = None
    features.loc[unknown, "send_time_source"] = "base"
    model = clustering.fit_clusters(features, k_min=3, k_max=6, random_state=0)
    assert np.isnan(model.matrix(features[unknown])).any()  # missing, not the average
    a = model.assign(features)
    # the missing coordinates count for nothing, so these customers go with their
    # own kind by orders, opens and visits: as well as the others do
    assert adjusted_rand_score(features.group[unknown], a.cluster_id[unknown]) > 0.8
    assert adjusted_rand_score(features.group, a.cluster_id) > 0.8
    assert np.isfinite(a.cluster_distance).all()
    assert model.metrics["silhouette"] is not None

def test_scoring_streams_arrow_batches():
    con = duckdb.connect()
    rel = con.sql("select range as x from range(10000)")
    sizes = []

    def score(frame):
        sizes.append(len(frame))
        return frame.assign(y=frame.x * 2)

    out = dbt_io.score_in_batches(rel, 3000, score)
    assert len(out) == 10000 and (out.y == out.x * 2).all()
    assert max(sizes) <= 3000 and len(sizes) >= 4


def test_scored_decimals_are_the_nearest_double_as_when_fitting():
    # Arrow's decimal-to-double cast gave 80.85000000000001 for 80.85, while the fit
    # (DuckDB's .df()) and Spark see 80.85: a customer on a tree split scored otherwise
    con = duckdb.connect()
    rel = con.sql("select cast(v as decimal(38, 2)) as money, 1 as n "
                  "from (values (80.85), (0.1), (12345678.91)) t(v)")
    frame = pd.concat(dbt_io.iter_frames(rel, 2))
    assert frame.money.tolist() == [80.85, 0.1, 12345678.91]
    assert frame.money.tolist() == rel.df().money.tolist()


def test_fit_sample_is_bounded_and_repeatable():
    con = duckdb.connect()
    rel = con.sql("select range as x from range(50000)")
    a = dbt_io.sample_frame(con, rel, 1000, seed=7, key="x")
    b = dbt_io.sample_frame(con, rel, 1000, seed=7, key="x")
    assert len(a) == 1000 and list(a.x) == list(b.x) == sorted(a.x)
    other = dbt_io.sample_frame(con, rel, 1000, seed=8, key="x")
    assert set(other.x) != set(a.x)
    assert 15_000 < a.x.mean() < 35_000  # spread over the whole range
    assert len(dbt_io.sample_frame(con, rel, 10**6, seed=7, key="x")) == 50000


def test_a_model_saved_by_another_code_version_still_loads():
    import json
    model = clustering.fit_clusters(_toy_features(60, seed=3), k_min=3, k_max=4)
    saved = json.loads(model.to_json())
    saved["a_field_from_an_older_version"] = 1
    del saved["category_weight"]
    back = clustering.ClusterModel.from_json(json.dumps(saved))
    assert back.category_weight == clustering.ClusterModel.__dataclass_fields__[
        "category_weight"].default


def test_a_fit_is_reused_for_the_same_inputs_or_within_the_refit_cadence():
    params = {"k": 3, "data_fingerprint": "aaa"}

    def previous(status="accepted", as_of="2026-01-10", **changes):
        rec = runs.run_record("churn", status=status, reason="", as_of_date=as_of,
                              training_rows=10, params={**params, **changes}, metrics={},
                              model_blob=None)
        return pd.DataFrame([rec])[runs.RUN_COLUMNS]

    same = runs.reusable_fit(previous(), params, "2026-01-10", 0)
    assert same is not None and same.as_of_date.iloc[0] == pd.Timestamp("2026-01-10").date()
    new_data = {**params, "data_fingerprint": "bbb"}
    assert runs.reusable_fit(previous(), new_data, "2026-01-16", 7) is not None
    assert runs.reusable_fit(previous(), new_data, "2026-01-17", 7) is None  # due
    assert runs.reusable_fit(previous(), new_data, "2026-01-11", 0) is None  # always refit
    assert runs.reusable_fit(previous(), {**new_data, "k": 4}, "2026-01-11", 7) is None
    assert runs.reusable_fit(previous("rule_based"), params, "2026-01-10", 7) is None
    assert runs.reusable_fit(previous(), new_data, "2026-01-09", 7) is None  # older as_of
    two = pd.concat([previous("rejected"), previous()])
    assert runs.reusable_fit(two, params, "2026-01-10", 7) is None


def test_a_fit_inside_the_cadence_is_reused_without_reading_the_examples():
    """dbt_io.reuse_before_reading: the previous fit comes back when the examples are
    still those it was fitted on (same as-of) and the settings match; anything else
    goes the long way (None)."""
    import duckdb

    from customer_segments.ml import dbt_io

    params = {"horizon_days": 30, "k": 3}
    rec = runs.run_record("churn", status="accepted", reason="", as_of_date="2026-02-09",
                          training_rows=10, params={**params, "data_fingerprint": "a"},
                          metrics={}, model_blob=None)
    con = duckdb.connect()
    con.register("prev", pd.DataFrame([rec])[runs.RUN_COLUMNS])
    con.execute("create table fit as select * from prev")
    con.execute("create table examples (as_of_date date, example_role varchar)")
    con.execute("insert into examples values ('2025-12-11', 'holdout_train'), "
                "('2026-01-10', 'holdout_test')")
    examples = con.sql("select * from examples")
    kept = dbt_io.reuse_before_reading(con, examples, "fit", params, 7)
    assert kept is not None and kept.run_id.iloc[0] == rec["run_id"]
    assert dbt_io.reuse_before_reading(con, examples, "fit", {**params, "k": 4}, 7) is None
    assert dbt_io.reuse_before_reading(con, examples, "fit", params, 0) is None
    con.execute("update examples set as_of_date = as_of_date + 1")  # recomputed examples
    assert dbt_io.reuse_before_reading(con, con.sql("select * from examples"), "fit",
                                       params, 7) is None
    assert dbt_io.reuse_before_reading(con, examples, "no_such_table", params, 7) is None


def test_python_models_run_after_every_python_model_upstream_even_through_sql():
    from customer_segments.spark.ml import python_model_waves, python_models

    def node(name, language, *parents):
        return {"name": name, "resource_type": "model", "language": language,
                "depends_on": {"nodes": [f"model.p.{p}" for p in parents]}}

    manifest = {"nodes": {f"model.p.{n['name']}": n for n in [
        node("z_fit", "python", "features"),       # first, though last by name
        node("features", "sql"),
        node("scores", "sql", "z_fit"),
        node("a_tiers", "python", "scores"),       # after z_fit only through SQL
        node("b_other", "python", "features"),
    ]}}
    waves = [[n["name"] for n in wave] for wave in python_model_waves(manifest)]
    assert waves == [["b_other", "z_fit"], ["a_tiers"]]
    assert [n["name"] for n in python_models(manifest)] == ["b_other", "z_fit", "a_tiers"]
    assert [n["name"] for n in python_models(manifest, ["a_tiers", "z_fit"])] == [
        "z_fit", "a_tiers"]
    with pytest.raises(KeyError, match="scores"):
        python_models(manifest, ["scores"])


def test_between_refits_only_changed_customers_are_scored():
    con = duckdb.connect()
    con.execute("create table features as select 'c' || i as customer_id, i * 1.5 as x "
                "from range(1000) t(i)")
    seen: list[list[str]] = []

    def score(frame: pd.DataFrame, run="r1") -> pd.DataFrame:
        assert "_input_hash" not in frame  # score() sees the features only
        seen.append(list(frame.customer_id))
        return pd.DataFrame({"customer_id": frame.customer_id, "p": frame.x * 2,
                             "model_run_id": run})

    def run_model(run: str = "r1", rescore_all: bool = False) -> None:
        out = dbt_io.score_changed(con, con.table("features"), "scores", 300,
                                   lambda f: score(f, run), run, rescore_all=rescore_all)
        con.register("_out", out)
        con.execute("create or replace table scores as select * from _out")
        con.unregister("_out")

    run_model()  # first run: no previous table, everyone in batches of 300
    assert sorted(sum(seen, [])) == sorted(f"c{i}" for i in range(1000))
    assert max(len(s) for s in seen) <= 300 and len(seen) >= 4
    seen.clear()
    # nothing changed (but the last bits of a parallel sum): nothing scored, all kept
    con.execute("update features set x = x + 1e-12 where customer_id = 'c5'")
    run_model()
    assert seen == []
    assert con.execute("select count(*), sum(p) from scores").fetchone() == \
        (1000, sum(i * 3.0 for i in range(1000)))
    con.execute("update features set x = -1 where customer_id = 'c7'")
    con.execute("delete from features where customer_id = 'c8'")
    con.execute("insert into features values ('new', 10)")
    run_model()  # one changed, one new; the deleted customer goes
    assert sorted(sum(seen, [])) == ["c7", "new"]
    got = dict(con.execute("select customer_id, p from scores").fetchall())
    assert len(got) == 1000 and "c8" not in got
    assert got["c7"] == -2 and got["new"] == 20 and got["c9"] == 27
    seen.clear()
    run_model(rescore_all=True)  # ml_rescore_all: everyone, same scores
    assert len(sum(seen, [])) == 1000
    assert dict(con.execute("select customer_id, p from scores").fetchall()) == got
    seen.clear()
    run_model("r2")  # a refit: everyone again
    assert len(sum(seen, [])) == 1000
    assert con.execute("select count(distinct model_run_id) from scores").fetchone() == (1,)
    assert dbt_io.setting_is_true({"x": "True"}, "x")
    assert not dbt_io.setting_is_true({"x": "False"}, "x") and \
        not dbt_io.setting_is_true({}, "x")
