"""The best possible churn score, from the generator's ground truth: the chance of no
order in the horizon given each customer's planted order rate and churn time."""

from __future__ import annotations

import numpy as np
import pandas as pd

from customer_segments.generate import PERSONAS, GenerateConfig


def oracle_churn_probability(truth: pd.DataFrame, cutoff: pd.Timestamp, horizon_days: int,
                             cfg: GenerateConfig | None = None) -> pd.Series:
    """P(no order in (cutoff, cutoff + horizon]) per customer_id."""
    cfg = cfg or GenerateConfig()
    rate = truth.persona.map({p.name: p.orders_per_year / 365 for p in PERSONAS})
    start = cutoff + pd.Timedelta(days=1)  # features see the cutoff day
    end = start + pd.Timedelta(days=horizon_days)
    churn = truth.churn_at
    decay = churn - pd.Timedelta(days=cfg.churn_decay_days)
    signup = truth.signup_at

    def ns(s: pd.Series) -> np.ndarray:
        return pd.to_datetime(s).to_numpy().astype("datetime64[ns]").astype("int64")

    def overlap(a: np.ndarray, b: np.ndarray) -> np.ndarray:  # days of [a, b) in window
        lo = np.maximum(a, start.value)
        hi = np.minimum(b, end.value)
        return np.clip(hi - lo, 0, None) / 86_400e9

    full = overlap(ns(signup), ns(decay))
    half = overlap(np.maximum(ns(signup), ns(decay)), ns(churn))
    expected = rate.to_numpy() * (full + 0.5 * half)
    return pd.Series(np.exp(-expected), index=truth.customer_id.values)
