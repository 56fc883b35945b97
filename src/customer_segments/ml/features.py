"""Which user_features columns the models use, and how they become a numeric matrix.

The SQL marts compute every feature; this module only selects and encodes them, so
the dbt Python models, the Spark path and the tests share one definition.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

# Numeric columns for the supervised models (gradient boosting handles missing values,
# so nulls stay NaN: "never opened" is information, not zero).
MODEL_FEATURES: tuple[str, ...] = (
    "recency_days", "frequency", "monetary", "gross_revenue", "refunded_revenue",
    "lifetime_orders", "lifetime_revenue", "r_score", "f_score", "m_score",
    "sends_90d", "opens_30d", "opens_90d", "opens_365d", "clicks_30d", "clicks_90d",
    "clicks_365d", "bounces_90d", "open_rate", "click_rate", "click_to_open_rate",
    "engagement_score", "days_since_last_open", "days_since_last_click",
    "days_since_last_visit", "days_since_last_interaction", "days_in_stage",
    "visit_days_in_window", "coupon_order_share", "email_interactions",
    "is_cart_abandoner", "is_recent_browser", "is_window_shopper", "is_high_value",
    "is_bargain_hunter", "is_new_subscriber", "has_orders", "has_email_data",
    "days_since_first_order", "avg_order_value", "orders_30d", "orders_90d",
    "observed_days", "visit_days_365d", "deliveries_365d", "deliveries_90d",
    "orders_90d_share", "opens_90d_share", "visit_days_90d_share",
)
STAGES = ("new", "active", "loyal", "at_risk", "lapsed", "churned", "unsubscribed")


def _days_since(dates: pd.Series, as_of: pd.Series) -> pd.Series:
    d = pd.to_datetime(dates, errors="coerce")
    a = pd.to_datetime(as_of, errors="coerce")
    return (a - d).dt.days.astype("float64")


def model_matrix(features: pd.DataFrame) -> pd.DataFrame:
    """Float matrix of MODEL_FEATURES plus one-hot lifecycle stage; NaN where unknown."""
    df = features.copy()
    df["days_since_first_order"] = _days_since(df["first_order_date"], df["as_of_date"])
    freq = pd.to_numeric(df["lifetime_orders"], errors="coerce")
    df["avg_order_value"] = pd.to_numeric(df["lifetime_revenue"], errors="coerce") / \
        freq.where(freq > 0)
    # the slowdown before churn: how much of the year's activity fell in the last 90 days
    def share(part: str, whole: str) -> pd.Series:
        w = pd.to_numeric(df[whole], errors="coerce")
        return pd.to_numeric(df[part], errors="coerce") / w.where(w > 0)

    df["orders_90d_share"] = share("orders_90d", "frequency")
    df["opens_90d_share"] = share("opens_90d", "opens_365d")
    df["visit_days_90d_share"] = share("visit_days_in_window", "visit_days_365d")
    out = pd.DataFrame(index=df.index)
    for col in MODEL_FEATURES:
        out[col] = pd.to_numeric(df[col], errors="coerce").astype("float64")
    for stage in STAGES:
        out[f"stage_{stage}"] = (df["lifecycle_stage"] == stage).astype("float64")
    return out


def cluster_matrix(features: pd.DataFrame) -> pd.DataFrame:
    """What kind of customer, in original units: lifetime rates rather than recent state
    (recency, lifecycle and churn describe the state), so a segment stays with a customer
    through a quiet month and the names mean the same over time."""
    def num(col: str) -> pd.Series:
        return pd.to_numeric(features[col], errors="coerce").astype("float64")

    observed_years = (num("observed_days").clip(lower=30) / 365).fillna(1)
    orders = num("lifetime_orders").fillna(0)
    deliveries = num("deliveries_365d")
    visit_window_days = num("observed_days").clip(lower=30, upper=365).fillna(365)
    out = pd.DataFrame({
        "orders_per_year": orders / observed_years,
        "avg_order_value": (num("lifetime_revenue") / orders.where(orders > 0)).fillna(0)
        .clip(lower=0),
        "coupon_order_share": num("coupon_order_share").fillna(0),
        "open_rate": (num("opens_365d") / deliveries.where(deliveries > 0)).fillna(0)
        .clip(0, 1),
        "click_rate": (num("clicks_365d") / deliveries.where(deliveries > 0)).fillna(0)
        .clip(0, 1),
        "visit_days_per_month": (num("visit_days_365d").fillna(0) / visit_window_days * 30),
    }, index=features.index)
    return out


def send_hour_cyclic(hours: pd.Series) -> pd.DataFrame:
    """Hour of day on the unit circle, so 23:00 and 00:00 are neighbours; NaN where the
    hour is unknown."""
    h = pd.to_numeric(hours, errors="coerce").astype("float64")
    angle = 2 * np.pi * h / 24
    return pd.DataFrame({"send_hour_sin": np.sin(angle), "send_hour_cos": np.cos(angle)},
                        index=hours.index)


def fit_columns(matrix: pd.DataFrame) -> list[str]:
    """Columns a model can learn from: not entirely missing (gradient boosting cannot
    bin a column without a single value, e.g. opens when no email data is landed)."""
    return [c for c in matrix.columns if matrix[c].notna().any()]
