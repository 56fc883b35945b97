"""Churn probability and risk tier for every customer, scored in Arrow batches."""

import pandas as pd

from customer_segments.ml import churn, dbt_io, runs


def model(dbt, session):
    dbt.config(materialized="table")
    settings = dbt.config.get("meta") or {}  # literal call: dbt passes only what it sees
    cfg = settings.get
    fit = runs.active_model(dbt_io.frame_of(dbt.ref("ml_churn_fit")))
    rule_based = fit["status"] == "rule_based"
    fitted = None if rule_based else runs.loads(fit["model_blob"])

    def score(frame: pd.DataFrame) -> pd.DataFrame:
        if rule_based:
            p = frame.lifecycle_stage.map(churn.STAGE_CHURN_PRIOR).fillna(0.5).to_numpy()
        else:
            p = churn.predict_churn(fitted, frame)
        return pd.DataFrame({"customer_id": frame.customer_id, "churn_probability": p})

    scores = dbt_io.score_in_batches(dbt.ref("user_features"),
                                     int(cfg("ml_score_batch_rows")), score)
    # ties in probability are broken by customer id, not by the order batches came in
    scores = scores.sort_values("customer_id", ignore_index=True)
    scores["churn_risk_tier"] = churn.risk_tiers(
        scores.churn_probability.to_numpy(), float(cfg("churn_high_risk_share")),
        float(cfg("churn_medium_risk_share")))
    scores["is_rule_based"] = rule_based
    scores["model_run_id"] = fit["run_id"]
    return scores
