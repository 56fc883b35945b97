"""Run records, quality gates and model (de)serialisation for the dbt Python models.

Every fit produces one record: what was fitted on which data, its metrics, and whether
it passed the gates. The fit models (ml_*_fit) return these records with the model
itself serialised, ml_model_runs keeps every record, and the scoring models use the
newest accepted one: a fit that fails its gates is recorded with the reason, and the
previous accepted model keeps scoring (or the build fails, as configured).
"""

from __future__ import annotations

import base64
import hashlib
import json
import pickle
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from .. import __version__

RUN_COLUMNS = ["run_id", "model_name", "status", "reason", "as_of_date", "fitted_at",
               "training_rows", "params", "metrics", "code_version", "model_blob"]


def code_version() -> str:
    try:
        sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, timeout=5, cwd=Path(__file__).parent).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        sha = ""
    return f"{__version__}+{sha}" if sha else __version__


def dumps(obj) -> str:
    return base64.b64encode(pickle.dumps(obj, protocol=5)).decode("ascii")


def loads(blob: str):
    return pickle.loads(base64.b64decode(blob))  # noqa: S301 - our own model blobs


def run_record(model_name: str, *, status: str, reason: str, as_of_date, training_rows: int,
               params: dict, metrics: dict, model_blob: str | None) -> dict:
    """One fit. The run id is a hash of what determines the fit and its verdict, so
    rebuilding the same data with the same code and settings gives the same id (no
    duplicate runs), while the same fit judged by other gates is another run."""
    version = code_version()
    key = json.dumps([model_name, str(as_of_date), training_rows, params, version,
                      json.dumps(metrics, sort_keys=True, default=str), status, reason],
                     sort_keys=True, default=str)
    return {
        "run_id": hashlib.sha1(key.encode()).hexdigest()[:16],
        "model_name": model_name,
        "status": status,
        "reason": reason,
        "as_of_date": pd.Timestamp(as_of_date).date() if as_of_date is not None else None,
        "fitted_at": datetime.now(UTC).replace(tzinfo=None, microsecond=0),
        "training_rows": int(training_rows),
        "params": json.dumps(params, sort_keys=True, default=str),
        "metrics": json.dumps(metrics, sort_keys=True, default=_json_default),
        "code_version": version,
        "model_blob": model_blob,
    }


def reusable_fit(previous: pd.DataFrame | None, params: dict, as_of,
                 refit_every_days: int, volatile: tuple[str, ...] = ("data_fingerprint",)
                 ) -> pd.DataFrame | None:
    """The previous fit rows, when the model need not be fitted again:
    - same parameters, data fingerprint and code: identical inputs give the identical
      fit, so a rebuild changes nothing;
    - same parameters and code, and the previous fit is less than `refit_every_days`
      older than `as_of`: the refit cadence (new data is scored with the current model
      until the next refit; 0 refits on every new date).
    A rejected or rule-based previous fit is never reused."""
    if previous is None or len(previous) != 1:
        return None
    row = previous.iloc[0]
    if row.status != "accepted" or row.code_version != code_version():
        return None
    old = json.loads(row.params)
    new = json.loads(json.dumps(params, sort_keys=True, default=str))
    if old == new:
        return typed(previous[RUN_COLUMNS].reset_index(drop=True))
    strip = lambda d: {k: v for k, v in d.items() if k not in volatile}  # noqa: E731
    if strip(old) != strip(new) or as_of is None or pd.isna(row.as_of_date):
        return None
    age = (pd.Timestamp(as_of) - pd.Timestamp(row.as_of_date)).days
    if 0 <= age < refit_every_days:
        return typed(previous[RUN_COLUMNS].reset_index(drop=True))
    return None


def _json_default(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)


def check_gates(metrics: dict, gates: dict) -> list[str]:
    """Reasons a fit fails its gates (empty: it passes). `gates` maps a metric to
    (">=" or "<=", threshold); a metric that is missing fails."""
    reasons = []
    for name, (op, threshold) in gates.items():
        value = metrics.get(name)
        if value is None or value != value:  # None or NaN
            reasons.append(f"{name} is not available")
        elif op == ">=" and value < threshold:
            reasons.append(f"{name} {value:.4f} < minimum {threshold}")
        elif op == "<=" and value > threshold:
            reasons.append(f"{name} {value:.4f} > maximum {threshold}")
    return reasons


def data_problems(train: pd.DataFrame, test: pd.DataFrame, *, history_days: int,
                  horizon_days: int, min_customers: int, min_history_days: int) -> list[str]:
    """Why the examples are too few or too short to fit on (empty: enough). The
    history needed is at least two horizons: one before each cutoff's outcomes."""
    problems = []
    if len(test) < min_customers:
        problems.append(f"{len(test)} customers < ml_gate_min_customers {min_customers}")
    needed = max(min_history_days, 2 * horizon_days)
    if history_days < needed:
        problems.append(f"{history_days} days of history < {needed} "
                        "(ml_gate_min_history_days, and two horizons)")
    for name, part in (("holdout_train", train), ("holdout_test", test)):
        if len(part) == 0:
            problems.append(f"no {name} examples")
        elif part.is_churned.nunique() < 2:
            problems.append(f"{name} examples have a single outcome")
    return problems


def data_window(train: pd.DataFrame, test: pd.DataFrame, horizon_days: int) -> str:
    """The dates a fit saw: features at both cutoffs, outcomes up to the last horizon."""
    first, last = pd.Timestamp(train.as_of_date.min()), pd.Timestamp(test.as_of_date.max())
    end = (last + pd.Timedelta(days=horizon_days)).date()
    return f"features as of {first.date()} and {last.date()}, outcomes to {end}"


def choose_active(new: dict, previous: pd.DataFrame | None, on_failure: str) -> pd.DataFrame:
    """The fit table's rows: the new record, plus the previous accepted one when the new
    fit was rejected and a previous one exists. `on_failure` = fail raises instead."""
    rows = [new]
    if new["status"] == "rejected":
        if on_failure == "fail":
            raise RuntimeError(f"{new['model_name']} fit rejected: {new['reason']} "
                               "(ml_gate_on_failure: fail)")
        if previous is not None and len(previous):
            accepted = previous[previous.status.isin(["accepted", "rule_based"])]
            if len(accepted):
                kept = accepted.iloc[0].to_dict()
                kept["status"] = "accepted"
                rows.append(kept)
    return typed(pd.DataFrame(rows)[RUN_COLUMNS])


def typed(rows: pd.DataFrame) -> pd.DataFrame:
    """Fit rows with the column types a fresh record has: rows read back from the
    warehouse come as timestamps, and the table must not change type between builds."""
    out = rows.copy()
    out["as_of_date"] = pd.to_datetime(out["as_of_date"]).dt.date
    return out


def active_model(fit_rows: pd.DataFrame) -> dict:
    """The record the scoring models use: accepted (or rule_based), newest first. When
    the only fit was rejected and there is no earlier model, scoring falls back to the
    rules, under the rejected fit's run id (so ml_model_runs says why)."""
    usable = fit_rows[fit_rows.status.isin(["accepted", "rule_based"])]
    if usable.empty:
        rejected = fit_rows.sort_values("fitted_at", ascending=False).iloc[0].to_dict()
        return {**rejected, "status": "rule_based", "model_blob": None}
    return usable.sort_values("fitted_at", ascending=False).iloc[0].to_dict()
