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
    examples = dbt.ref("int_ml_training_examples")
    # what the fit is recorded with (a rule-based record without the gates); a fit is
    # reused only when these match
    params = {"horizon_days": int(cfg("churn_horizon_days")),
              "random_state": int(cfg("ml_random_state")),
              "max_fit_rows": int(cfg("ml_max_fit_rows")),
              "estimator": "HistGradientBoostingClassifier + isotonic calibration",
              "booster": churn.BOOSTER_PARAMS}
    gates = {"min_auc": cfg("ml_gate_min_churn_auc"),
             "max_calibration_error": cfg("ml_gate_max_calibration_error")}
    quick = dbt_io.reuse_before_reading(session, examples, dbt.this,
                                        {**params, "gates": gates},
                                        int(cfg("ml_refit_every_days")))
    if quick is not None:  # within the refit cadence, on the same examples
        return quick
    data = dbt_io.supervised_inputs(
        session, examples, dbt.ref("int_customer_activity_daily"),
        dbt.this, settings)
    if data.problems:
        record = runs.run_record(
            "churn", status="rule_based", reason="; ".join(data.problems) +
            ": churn probability falls back to lifecycle-stage priors", as_of_date=data.as_of,
            training_rows=len(data.train) + len(data.test), params=params, metrics={},
            model_blob=None)
        return pd.DataFrame([record])[runs.RUN_COLUMNS]
    params["gates"] = gates
    params["data_fingerprint"] = dbt_io.fingerprint(pd.concat([data.train, data.test]))
    reused = runs.reusable_fit(data.previous, params, data.as_of,
                               int(cfg("ml_refit_every_days")))
    if reused is not None:  # same inputs, or within the refit cadence: keep the fit
        return reused

    evaluation = churn.fit_churn(data.train, random_state=data.seed)
    metrics = churn.churn_metrics(data.test.is_churned.to_numpy(),
                                  churn.predict_churn(evaluation, data.test))
    metrics["train_rows"] = len(data.train)
    metrics["data_window"] = runs.data_window(data.train, data.test, data.horizon)
    gates = {"roc_auc": (">=", float(cfg("ml_gate_min_churn_auc"))),
             "calibration_error": ("<=", float(cfg("ml_gate_max_calibration_error")))}
    reasons = runs.check_gates(metrics, gates)
    final = churn.fit_churn(data.test, random_state=data.seed)
    metrics["feature_importances"] = churn.feature_importances(final, data.test,
                                                               random_state=data.seed)
    record = runs.run_record(
        "churn", status="rejected" if reasons else "accepted", reason="; ".join(reasons),
        as_of_date=data.as_of, training_rows=len(data.test), params=params, metrics=metrics,
        model_blob=None if reasons else runs.dumps(final))
    return runs.choose_active(record, data.previous, str(cfg("ml_gate_on_failure")))
