"""Fit the behavioural clusters (thin: the code is customer_segments.ml.clustering).

Returns the fit record(s): the new fit, and the previous accepted one if the new fit
was rejected. The model (centres, transform, names) is stored as JSON in model_blob.
"""

import pandas as pd

from customer_segments.ml import clustering, dbt_io, runs


def model(dbt, session):
    dbt.config(materialized="table")
    settings = dbt.config.get("meta") or {}  # literal call: dbt passes only what it sees
    cfg = settings.get
    seed = int(cfg("ml_random_state"))
    features = dbt.ref("user_features")
    sample = dbt_io.sample_frame(session, features, int(cfg("ml_max_fit_rows")), seed)
    previous = dbt_io.previous_rows(session, dbt.this)
    prev_model, prev_note = None, ""
    if previous is not None:
        usable = previous[(previous.status == "accepted") & previous.model_blob.notna()]
        if len(usable):
            try:
                prev_model = clustering.ClusterModel.from_json(usable.iloc[0].model_blob)
                prev_model.assign(sample.head(5))  # still usable with today's columns?
            except Exception as exc:  # noqa: BLE001 - an old model must not stop the build
                prev_model, prev_note = None, f"previous model not reusable ({exc})"
    params = {k: cfg(k) for k in ("cluster_k_min", "cluster_k_max", "cluster_algorithm",
                                  "cluster_min_share", "cluster_silhouette_sample",
                                  "cluster_hour_weight", "cluster_category_weight",
                                  "ml_max_fit_rows")}
    as_of = sample.as_of_date.max() if len(sample) else None
    min_customers = int(cfg("ml_gate_min_customers"))
    if len(sample) < min_customers:
        record = runs.run_record(
            "clusters", status="rule_based", as_of_date=as_of, training_rows=len(sample),
            reason=f"{len(sample)} customers < ml_gate_min_customers {min_customers}: "
                   "segments fall back to the RFM segment", params=params, metrics={},
            model_blob=None)
        return pd.DataFrame([record])[runs.RUN_COLUMNS]
    params["data_fingerprint"] = dbt_io.fingerprint(sample)
    reused = runs.reusable_fit(previous, params, as_of, int(cfg("ml_refit_every_days")))
    if reused is not None:  # same inputs, or within the refit cadence: keep the fit
        return reused
    fitted = clustering.fit_clusters(
        sample, k_min=int(cfg("cluster_k_min")), k_max=int(cfg("cluster_k_max")),
        algorithm=str(cfg("cluster_algorithm")), min_share=float(cfg("cluster_min_share")),
        silhouette_sample=int(cfg("cluster_silhouette_sample")), random_state=seed,
        hour_weight=float(cfg("cluster_hour_weight")),
        category_weight=float(cfg("cluster_category_weight")), previous=prev_model)
    record = runs.run_record(
        "clusters", status="accepted", reason="", as_of_date=as_of,
        training_rows=len(sample), params=params,
        metrics={**fitted.metrics, "profiles": fitted.profiles,
                 "previous_model": prev_note or ("matched" if prev_model else "none")},
        model_blob=fitted.to_json())
    return runs.choose_active(record, previous, str(cfg("ml_gate_on_failure")))
