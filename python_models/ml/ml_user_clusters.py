"""Assign every customer to a cluster, streaming user_features in Arrow batches."""

import pandas as pd

from customer_segments.ml import clustering, dbt_io, runs

RFM_FALLBACK = ["champions", "loyal", "potential_loyalists", "new_customers", "promising",
                "need_attention", "about_to_sleep", "at_risk", "cannot_lose_them",
                "hibernating", "lost", "prospects"]


def model(dbt, session):
    dbt.config(materialized="table")
    fit = runs.active_model(dbt_io.frame_of(dbt.ref("ml_clusters_fit")))
    features = dbt.ref("user_features")
    settings = dbt.config.get("meta") or {}  # literal call: dbt passes only what it sees
    batch = int(settings["ml_score_batch_rows"])
    if fit["status"] == "rule_based":
        def score(frame: pd.DataFrame) -> pd.DataFrame:
            names = frame.rfm_segment.astype(str)
            return pd.DataFrame({
                "customer_id": frame.customer_id,
                "cluster_id": names.map({n: i + 1 for i, n in enumerate(RFM_FALLBACK)}),
                "cluster_name": names.str.replace("_", " "),
                "cluster_distance": float("nan"),
                "is_rule_based": True,
                "model_run_id": fit["run_id"],
            })
    else:
        fitted = clustering.ClusterModel.from_json(fit["model_blob"])

        def score(frame: pd.DataFrame) -> pd.DataFrame:
            assigned = fitted.assign(frame)
            return pd.DataFrame({
                "customer_id": frame.customer_id,
                "cluster_id": assigned.cluster_id.astype("int64"),
                "cluster_name": assigned.cluster_name,
                "cluster_distance": assigned.cluster_distance,
                "is_rule_based": False,
                "model_run_id": fit["run_id"],
            })
    # only customers whose features changed since the last assignment, or all after a
    # refit
    return dbt_io.score_changed(session, features, dbt.this, batch, score, fit["run_id"],
                                rescore_all=dbt_io.setting_is_true(settings, "ml_rescore_all"))
