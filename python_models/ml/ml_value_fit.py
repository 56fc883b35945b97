"""Fit and evaluate the expected-value models (code: customer_segments.ml.value)."""

import pandas as pd

from customer_segments.ml import dbt_io, runs, value


def model(dbt, session):
    dbt.config(materialized="table")
    settings = dbt.config.get("meta") or {}  # literal call: dbt passes only what it sees
    cfg = settings.get
    examples = dbt.ref("int_ml_training_examples")
    # what the fit is recorded with (a rule-based record without the gates); a fit is
    # reused only when these match
    params = {"horizon_days": int(cfg("churn_horizon_days")),
              "random_state": int(cfg("ml_random_state")),
              "estimator": "HistGradientBoostingRegressor(loss=poisson) x2",
              "booster": value.BOOSTER_PARAMS}
    gates = {"max_value_error": cfg("ml_gate_max_value_error")}
    quick = dbt_io.reuse_before_reading(session, examples, dbt.this,
                                        {**params, "gates": gates},
                                        int(cfg("ml_refit_every_days")))
    if quick is not None:  # within the refit cadence, on the same examples
        return quick
    data = dbt_io.supervised_inputs(
        session, examples, dbt.ref("int_customer_activity_daily"),
        dbt.this, settings)
    problems = list(data.problems)
    if len(data.train) and float(data.train.next_orders.sum()) == 0:
        problems.append("no orders after the earlier cutoff to learn from")
    if problems:
        record = runs.run_record(
            "value", status="rule_based",
            reason="; ".join(problems) + ": expected value falls back to last year's pace",
            as_of_date=data.as_of, training_rows=len(data.train) + len(data.test),
            params=params, metrics={}, model_blob=None)
        return pd.DataFrame([record])[runs.RUN_COLUMNS]
    params["gates"] = gates
    params["data_fingerprint"] = dbt_io.fingerprint(pd.concat([data.train, data.test]))
    reused = runs.reusable_fit(data.previous, params, data.as_of,
                               int(cfg("ml_refit_every_days")))
    if reused is not None:  # same inputs, or within the refit cadence: keep the fit
        return reused
    evaluation = value.fit_value(data.train, random_state=data.seed)
    predicted = value.predict_value(evaluation, data.test, data.horizon)
    metrics = value.value_metrics(data.test.next_orders, data.test.next_revenue, predicted)
    metrics["data_window"] = runs.data_window(data.train, data.test, data.horizon)
    err = metrics.get("revenue_relative_error")
    metrics["abs_revenue_relative_error"] = abs(err) if err is not None else None
    reasons = runs.check_gates(metrics, {"abs_revenue_relative_error": (
        "<=", float(cfg("ml_gate_max_value_error")))})
    final = value.fit_value(data.test, random_state=data.seed)
    record = runs.run_record(
        "value", status="rejected" if reasons else "accepted", reason="; ".join(reasons),
        as_of_date=data.as_of, training_rows=len(data.test), params=params, metrics=metrics,
        model_blob=None if reasons else runs.dumps(final))
    return runs.choose_active(record, data.previous, str(cfg("ml_gate_on_failure")))
