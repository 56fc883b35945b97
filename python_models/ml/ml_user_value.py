"""Expected orders, revenue and next order date for every customer, scored in batches."""

import pandas as pd

from customer_segments.ml import dbt_io, runs, value


def model(dbt, session):
    dbt.config(materialized="table")
    settings = dbt.config.get("meta") or {}  # literal call: dbt passes only what it sees
    cfg = settings.get
    horizon = int(cfg("churn_horizon_days"))
    fit = runs.active_model(dbt_io.frame_of(dbt.ref("ml_value_fit")))
    rule_based = fit["status"] == "rule_based"
    fitted = None if rule_based else runs.loads(fit["model_blob"])
    run_id = fit["run_id"]

    def score(frame: pd.DataFrame) -> pd.DataFrame:
        out = value.rule_based_value(frame, horizon) if rule_based else \
            value.predict_value(fitted, frame, horizon)
        out.insert(0, "customer_id", frame.customer_id.to_numpy())
        out["horizon_days"] = horizon
        out["is_rule_based"] = rule_based
        out["model_run_id"] = run_id
        return out

    # only customers whose features changed since the last scoring, or all after a
    # refit; returned as it is: on Spark a DataFrame that never passes through the driver
    return dbt_io.score_changed(session, dbt.ref("user_features"), dbt.this,
                                int(cfg("ml_score_batch_rows")), score, run_id,
                                rescore_all=dbt_io.setting_is_true(settings, "ml_rescore_all"))
