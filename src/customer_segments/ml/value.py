"""Expected value: orders and revenue in the next horizon, and the next order date.

Poisson-loss gradient boosting on the same point-in-time examples as churn (counts and
non-negative revenue: the Poisson loss keeps the aggregate unbiased). The expected
next order date assumes orders arrive as a Poisson process at the predicted rate:
expected wait = horizon / expected orders.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import spearmanr
from sklearn.ensemble import HistGradientBoostingRegressor

from .churn import BOOSTER_PARAMS, sample_rows
from .features import fit_columns, model_matrix

MIN_EXPECTED_ORDERS = 0.05  # below this no next order date is given


def fit_value(examples: pd.DataFrame, *, random_state: int = 42, max_rows: int = 200_000
              ) -> dict:
    train = sample_rows(examples, max_rows, random_state)
    x = model_matrix(train)
    x = x[fit_columns(x)]
    models = {}
    for target in ("next_orders", "next_revenue"):
        m = HistGradientBoostingRegressor(loss="poisson", **BOOSTER_PARAMS,
                                          random_state=random_state)
        m.fit(x, pd.to_numeric(train[target]).astype(float).clip(lower=0))
        models[target] = m
    models["feature_names"] = list(x.columns)
    return models


def predict_value(models: dict, features: pd.DataFrame, horizon_days: int) -> pd.DataFrame:
    x = model_matrix(features)[models["feature_names"]]
    orders = np.clip(models["next_orders"].predict(x), 0, None)
    revenue = np.clip(models["next_revenue"].predict(x), 0, None)
    as_of = pd.to_datetime(features["as_of_date"]).to_numpy()
    wait = np.where(orders >= MIN_EXPECTED_ORDERS, horizon_days / np.maximum(orders, 1e-9),
                    np.nan)
    wait = np.minimum(wait, 3 * horizon_days)
    next_date = pd.to_datetime(as_of) + pd.to_timedelta(np.round(wait), unit="D")
    return pd.DataFrame({"expected_orders": orders, "expected_revenue": revenue,
                         "expected_next_order_date": next_date.date}, index=features.index)


def value_metrics(actual_orders, actual_revenue, predicted: pd.DataFrame) -> dict:
    ao = np.asarray(actual_orders, dtype=float)
    ar = np.asarray(actual_revenue, dtype=float)
    po = predicted["expected_orders"].to_numpy()
    pr = predicted["expected_revenue"].to_numpy()

    def rel(p, a):
        return float((p.sum() - a.sum()) / a.sum()) if a.sum() else None

    top = np.argsort(-pr)[: max(1, len(pr) // 10)]
    return {
        "rows": int(len(ao)),
        "orders_actual": float(ao.sum()), "orders_predicted": float(po.sum()),
        "revenue_actual": float(ar.sum()), "revenue_predicted": float(pr.sum()),
        "orders_relative_error": rel(po, ao),
        "revenue_relative_error": rel(pr, ar),
        "revenue_spearman": float(spearmanr(pr, ar).statistic) if ar.std() > 0 else None,
        "top_decile_revenue_share": float(ar[top].sum() / ar.sum()) if ar.sum() else None,
        "revenue_mae": float(np.abs(pr - ar).mean()),
    }


def rule_based_value(features: pd.DataFrame, horizon_days: int) -> pd.DataFrame:
    """Fallback with too little data: last year's pace carried forward."""
    freq = pd.to_numeric(features["frequency"], errors="coerce").fillna(0).to_numpy()
    monetary = pd.to_numeric(features["monetary"], errors="coerce").fillna(0).to_numpy()
    scale = horizon_days / 365
    orders = freq * scale
    as_of = pd.to_datetime(features["as_of_date"])
    wait = np.where(orders >= MIN_EXPECTED_ORDERS, horizon_days / np.maximum(orders, 1e-9),
                    np.nan)
    wait = np.minimum(wait, 3 * horizon_days)
    return pd.DataFrame({
        "expected_orders": orders, "expected_revenue": monetary * scale,
        "expected_next_order_date": (as_of + pd.to_timedelta(np.round(wait), unit="D")).dt.date,
    }, index=features.index)
