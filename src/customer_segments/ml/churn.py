"""Churn probability: gradient boosting on point-in-time features, calibrated.

Label: no order in the `horizon` days after the cutoff the features were computed at
(int_ml_training_examples). Evaluation is a temporal holdout: fit on the earlier
cutoff, score the later one. Probabilities are calibrated (isotonic, cross-fitted),
so "0.3" means about 30% of such customers churn: what a campaign budget needs.
Everyone gets a score from the same model, one-time buyers and brand-new customers
included: they are in the training data at the cutoff too, so the model learns what
becomes of them (unlike BG/NBD's P(alive), which is 1.0 for every one-time buyer).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score
from sklearn.model_selection import StratifiedKFold

from .features import fit_columns, model_matrix

# rule-based fallback when there is too little data to fit: churn probability by stage
STAGE_CHURN_PRIOR = {"new": 0.6, "active": 0.4, "loyal": 0.1, "at_risk": 0.7,
                     "lapsed": 0.85, "churned": 0.95, "unsubscribed": 0.9}


# The gradient-boosting settings of every supervised model (churn, and value's two).
# Learning rate 0.1 with early stopping: about half the trees of 0.05 for the same
# quality, so half the fitting and scoring work. Measured on the 100M benchmark's
# temporal holdout (168k training rows, 185k scored; 0.05 -> 0.1): churn 169 -> 89
# trees, fit 19.3 -> 11.3 s, ROC-AUC 0.8649 -> 0.8646, Brier 0.1438 -> 0.1440,
# calibration error 0.037 both; value 203/164 -> 81/87 trees, fit 14.1 -> 7.2 s,
# scoring 2.4 -> 1.3 s per 185k customers, revenue Spearman 0.629 -> 0.628, aggregate
# orders error 0.180 -> 0.166, revenue error 0.182 -> 0.197 (its gate is 0.25).
BOOSTER_PARAMS = {"max_iter": 300, "learning_rate": 0.1, "max_leaf_nodes": 31,
                  "min_samples_leaf": 40, "l2_regularization": 1.0, "early_stopping": True,
                  "validation_fraction": 0.15}


def sample_rows(df: pd.DataFrame, max_rows: int, random_state: int) -> pd.DataFrame:
    return df if len(df) <= max_rows else df.sample(max_rows, random_state=random_state)


def fit_churn(examples: pd.DataFrame, *, random_state: int = 42,
              max_rows: int = 200_000) -> CalibratedClassifierCV:
    train = sample_rows(examples, max_rows, random_state)
    x = model_matrix(train)
    x = x[fit_columns(x)]
    y = train["is_churned"].astype(int).to_numpy()
    booster = HistGradientBoostingClassifier(**BOOSTER_PARAMS, random_state=random_state)
    # shuffled folds: rows arrive in warehouse order, and unshuffled folds would each
    # see a different slice of the base (a calibration error of 0.17 instead of 0.02)
    folds = StratifiedKFold(n_splits=3, shuffle=True, random_state=random_state)
    # ensemble=False: the isotonic map is fitted on out-of-fold predictions and applied
    # to one booster fitted on all rows. The default keeps one booster per fold and
    # averages the three when scoring: three times the work on every customer every day
    # (2.8M customers at 100M events: 45 s instead of 15 s). Measured on the 10M
    # benchmark's temporal holdout (185k customers): AUC 0.863 both ways, Brier 0.1448
    # (ensemble) vs 0.1453, calibration error 0.038 vs 0.042; the fit, only on a refit
    # day, takes 16 s instead of 11 (all measured at learning rate 0.05).
    model = CalibratedClassifierCV(booster, method="isotonic", cv=folds, ensemble=False)
    model.fit(x, y)
    model.feature_names_ = list(x.columns)
    return model


def predict_churn(model, features: pd.DataFrame) -> np.ndarray:
    x = model_matrix(features)[model.feature_names_]
    return model.predict_proba(x)[:, 1]


def calibration_error(y: np.ndarray, p: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error over equal-count bins of the predictions."""
    order = np.argsort(p)
    err = 0.0
    for chunk in np.array_split(order, bins):
        if len(chunk):
            err += len(chunk) * abs(p[chunk].mean() - y[chunk].mean())
    return float(err / len(p))


def lift_at(y: np.ndarray, p: np.ndarray, share: float = 0.2) -> float:
    n = max(1, int(round(len(p) * share)))
    top = np.argsort(-p)[:n]
    base = y.mean()
    return float(y[top].mean() / base) if base > 0 else float("nan")


def calibration_curve(y: np.ndarray, p: np.ndarray, bins: int = 10) -> list[dict]:
    """Equal-count bins of the predictions: mean predicted probability against the share
    that churned (a calibrated model sits on the diagonal)."""
    y, p = np.asarray(y).astype(int), np.asarray(p, dtype=float)
    order = np.argsort(p, kind="stable")
    return [{"bin": i + 1, "mean_predicted": round(float(p[c].mean()), 4),
             "observed_rate": round(float(y[c].mean()), 4), "customers": int(len(c))}
            for i, c in enumerate(np.array_split(order, bins)) if len(c)]


def lift_curve(y: np.ndarray, p: np.ndarray, groups: int = 10) -> list[dict]:
    """Customers ranked by predicted risk, in tenths: the churn rate of each tenth and
    the cumulative lift over the base rate (top 10%, top 20%, ...)."""
    y, p = np.asarray(y).astype(int), np.asarray(p, dtype=float)
    base = y.mean() if len(y) else 0.0
    order = np.argsort(-p, kind="stable")
    out, seen, churned = [], 0, 0
    for i, c in enumerate(np.array_split(order, groups)):
        if not len(c):
            continue
        seen, churned = seen + len(c), churned + int(y[c].sum())
        out.append({"decile": i + 1, "churn_rate": round(float(y[c].mean()), 4),
                    "cumulative_share": round(seen / len(y), 4),
                    "cumulative_lift": round(float(churned / seen / base), 4) if base
                    else None})
    return out


def churn_metrics(y: np.ndarray, p: np.ndarray) -> dict:
    y = np.asarray(y).astype(int)
    both = len(set(y)) > 1
    return {
        "rows": int(len(y)),
        "churn_rate": float(y.mean()),
        "roc_auc": float(roc_auc_score(y, p)) if both else None,
        "pr_auc": float(average_precision_score(y, p)) if both else None,
        "brier": float(brier_score_loss(y, p)),
        "calibration_error": calibration_error(y, p),
        "lift_top_20": lift_at(y, p, 0.2),
        "calibration_curve": calibration_curve(y, p),
        "lift_curve": lift_curve(y, p),
    }


def feature_importances(model, examples: pd.DataFrame, y_col: str = "is_churned",
                        random_state: int = 42, max_rows: int = 5_000) -> dict:
    """Permutation importance (drop in ROC-AUC) of each feature on a sample."""
    from sklearn.inspection import permutation_importance
    sample = sample_rows(examples, max_rows, random_state)
    x = model_matrix(sample)[model.feature_names_]
    y = sample[y_col].astype(int)
    if y.nunique() < 2:
        return {}
    r = permutation_importance(model, x, y, scoring="roc_auc", n_repeats=3,
                               random_state=random_state)
    imp = pd.Series(r.importances_mean, index=x.columns).sort_values(ascending=False)
    return {k: round(float(v), 5) for k, v in imp.head(15).items()}
