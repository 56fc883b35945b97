"""Fit and evaluate the churn model (thin: the code is customer_segments.ml.churn).

Evaluation: fit on the examples at as_of - 2H, score those at as_of - H (a temporal
holdout). Gates on data size, history, ROC-AUC and calibration. The production model
is then fitted on the most recent examples (as_of - H, outcomes up to as_of).
"""

import pandas as pd

from customer_segments.ml import churn, dbt_io, runs


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
              "max_fit_rows": int(cfg("ml_max_fit_rows")),
              "estimator": "HistGradientBoostingClassifier + isotonic calibration"}
    train = examples[examples.example_role == "holdout_train"]
    test = examples[examples.example_role == "holdout_test"]
    as_of = test.as_of_date.max() + pd.Timedelta(days=horizon) if len(test) else None
    data_problems = runs.data_problems(
        train, test, history_days=int(span), horizon_days=horizon,
        min_customers=int(cfg("ml_gate_min_customers")),
        min_history_days=int(cfg("ml_gate_min_history_days")))
    if data_problems:
        record = runs.run_record(
            "churn", status="rule_based", reason="; ".join(data_problems) +
            ": churn probability falls back to lifecycle-stage priors", as_of_date=as_of,
            training_rows=len(examples), params=params, metrics={}, model_blob=None)
        return pd.DataFrame([record])[runs.RUN_COLUMNS]

    evaluation = churn.fit_churn(train, random_state=seed)
    metrics = churn.churn_metrics(test.is_churned.to_numpy(),
                                  churn.predict_churn(evaluation, test))
    metrics["train_rows"] = len(train)
    metrics["data_window"] = runs.data_window(train, test, horizon)
    gates = {"roc_auc": (">=", float(cfg("ml_gate_min_churn_auc"))),
             "calibration_error": ("<=", float(cfg("ml_gate_max_calibration_error")))}
    reasons = runs.check_gates(metrics, gates)
    final = churn.fit_churn(test, random_state=seed)
    metrics["feature_importances"] = churn.feature_importances(final, test,
                                                               random_state=seed)
    record = runs.run_record(
        "churn", status="rejected" if reasons else "accepted", reason="; ".join(reasons),
        as_of_date=as_of, training_rows=len(test), params=params, metrics=metrics,
        model_blob=None if reasons else runs.dumps(final))
    return runs.choose_active(record, previous, str(cfg("ml_gate_on_failure")))

