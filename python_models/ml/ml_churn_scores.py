"""Churn probability for every customer, scored in batches (Arrow batches on DuckDB,
mapInPandas on Spark); between refits only the customers whose features changed (see
dbt_io.score_changed). The risk tiers are ranked over all customers in SQL
(ml_user_churn), so the scores never have to meet in one process."""

import pandas as pd

from customer_segments.ml import churn, dbt_io, runs


def model(dbt, session):
    dbt.config(materialized="table")
    settings = dbt.config.get("meta") or {}  # literal call: dbt passes only what it sees
    fit = runs.active_model(dbt_io.frame_of(dbt.ref("ml_churn_fit")))
    rule_based = fit["status"] == "rule_based"
    fitted = None if rule_based else runs.loads(fit["model_blob"])
    run_id = fit["run_id"]

    def score(frame: pd.DataFrame) -> pd.DataFrame:
        if rule_based:
            p = frame.lifecycle_stage.map(churn.STAGE_CHURN_PRIOR).fillna(0.5).to_numpy()
        else:
            p = churn.predict_churn(fitted, frame)
        return pd.DataFrame({"customer_id": frame.customer_id, "churn_probability": p,
                             "is_rule_based": rule_based, "model_run_id": run_id})

    # only customers whose features changed since the last scoring, or all after a refit
    return dbt_io.score_changed(session, dbt.ref("user_features"), dbt.this,
                                int(settings["ml_score_batch_rows"]), score, run_id,
                                rescore_all=dbt_io.setting_is_true(settings, "ml_rescore_all"))
