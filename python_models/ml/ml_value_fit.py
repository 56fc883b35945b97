"""Fit and evaluate the expected-value models (code: customer_segments.ml.value)."""

import pandas as pd

from customer_segments.ml import dbt_io, runs, value


def model(dbt, session):
    dbt.config(materialized="table")
    settings = dbt.config.get("meta") or {}  # literal call: dbt passes only what it sees
    cfg = settings.get
    seed = int(cfg("ml_random_state"))
    horizon = int(cfg("churn_horizon_days"))
    examples = dbt_io.sample_frame(session, dbt.ref("int_ml_training_examples"),
                                   2 * int(cfg("ml_max_fit_rows")), seed)
    span = session.sql(
        f"select datediff('day', min(activity_date), max(activity_date)) + 1 "
        f"from ({dbt.ref('int_customer_activity_daily').sql_query()})").fetchall()[0][0] or 0
    previous = dbt_io.previous_rows(session, dbt.this)
    params = {"horizon_days": horizon, "random_state": seed,
              "estimator": "HistGradientBoostingRegressor(loss=poisson) x2"}
    train = examples[examples.example_role == "holdout_train"]
    test = examples[examples.example_role == "holdout_test"]
    as_of = test.as_of_date.max() + pd.Timedelta(days=horizon) if len(test) else None
    problems = runs.data_problems(
        train, test, history_days=int(span), horizon_days=horizon,
        min_customers=int(cfg("ml_gate_min_customers")),
        min_history_days=int(cfg("ml_gate_min_history_days")))
    if len(train) and float(train.next_orders.sum()) == 0:
        problems.append("no orders after the earlier cutoff to learn from")
    if problems:
        record = runs.run_record(
            "value", status="rule_based",
            reason="; ".join(problems) + ": expected value falls back to last year's pace",
            as_of_date=as_of,
            training_rows=len(examples), params=params, metrics={}, model_blob=None)
        return pd.DataFrame([record])[runs.RUN_COLUMNS]
    evaluation = value.fit_value(train, random_state=seed)
    predicted = value.predict_value(evaluation, test, horizon)
    metrics = value.value_metrics(test.next_orders, test.next_revenue, predicted)
    metrics["data_window"] = runs.data_window(train, test, horizon)
    err = metrics.get("revenue_relative_error")
    metrics["abs_revenue_relative_error"] = abs(err) if err is not None else None
    reasons = runs.check_gates(metrics, {"abs_revenue_relative_error": (
        "<=", float(cfg("ml_gate_max_value_error")))})
    final = value.fit_value(test, random_state=seed)
    record = runs.run_record(
        "value", status="rejected" if reasons else "accepted", reason="; ".join(reasons),
        as_of_date=as_of, training_rows=len(test), params=params, metrics=metrics,
        model_blob=None if reasons else runs.dumps(final))
    return runs.choose_active(record, previous, str(cfg("ml_gate_on_failure")))

