"""Behavioural clusters: automatic k, named from their centroids, stable between runs.

Features are the interpretable columns of `features.cluster_matrix` (plus the send
hour on the unit circle and the favourite category one-hot, which the generator and
real customers both vary by), log1p-transformed where skewed and standardised. k is
chosen by silhouette on a sample (K-Means) or by BIC (Gaussian mixture) within a
range; clusters under a minimum share are merged into their nearest neighbour. Each
cluster is named from its centroid (in original units, compared to the base), and on
the next run new centroids are matched to the previous ones (Hungarian assignment)
so ids and names stay with the customers they describe.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score
from sklearn.mixture import GaussianMixture

from .features import cluster_matrix, send_hour_cyclic

SKEW_THRESHOLD = 1.0
NAME_COLUMNS = ("orders_per_year", "avg_order_value", "coupon_order_share", "open_rate",
                "click_rate", "visit_days_per_month")


@dataclass
class ClusterModel:
    columns: list[str]
    log_columns: list[str]
    categories: list[str]
    mean: list[float]
    scale: list[float]
    centers: list[list[float]]  # standardised space, one per cluster
    cluster_ids: list[int]
    names: list[str]
    profiles: list[dict]  # centroid in original units, per cluster
    algorithm: str = "kmeans"
    preference_weight: float = 2.0
    k: int = 0
    metrics: dict = field(default_factory=dict)

    # -- transform and assign ---------------------------------------------------
    def matrix(self, features: pd.DataFrame) -> np.ndarray:
        return _standardise(_raw_matrix(features, self.categories), self)

    def assign(self, features: pd.DataFrame) -> pd.DataFrame:
        """cluster_id, cluster_name and distance to the centre for each row."""
        x = self.matrix(features)
        centers = np.asarray(self.centers)
        d = ((x[:, None, :] - centers[None, :, :]) ** 2).sum(axis=2)
        nearest = d.argmin(axis=1)
        return pd.DataFrame({
            "cluster_id": np.asarray(self.cluster_ids)[nearest],
            "cluster_name": np.asarray(self.names, dtype=object)[nearest],
            "cluster_distance": np.sqrt(d[np.arange(len(x)), nearest]),
        }, index=features.index)

    def to_json(self) -> str:
        return json.dumps(self.__dict__, default=float)

    @classmethod
    def from_json(cls, text: str) -> ClusterModel:
        return cls(**json.loads(text))


def _raw_matrix(features: pd.DataFrame, categories: list[str]) -> pd.DataFrame:
    m = cluster_matrix(features)
    m = pd.concat([m, send_hour_cyclic(features["best_send_hour"])], axis=1)
    fav = features["favourite_category"].astype("object")
    for cat in categories:
        m[f"category_{cat}"] = (fav == cat).astype("float64")
    return m


def _standardise(raw: pd.DataFrame, model: ClusterModel) -> np.ndarray:
    x = raw[model.columns].copy()
    for col in model.log_columns:
        x[col] = np.log1p(x[col].clip(lower=0))
    z = (x.to_numpy() - np.asarray(model.mean)) / np.asarray(model.scale)
    # preferences (send hour, favourite category) persist when a customer goes quiet;
    # weighting them keeps quiet customers with their kind (ARI 0.59 -> 0.70 measured)
    pref = [i for i, c in enumerate(model.columns)
            if c.startswith(("category_", "send_hour_"))]
    z[:, pref] *= model.preference_weight
    return z


def _prepare(features: pd.DataFrame) -> ClusterModel:
    cats = sorted(features["favourite_category"].dropna().astype(str).unique().tolist())
    raw = _raw_matrix(features, cats)
    skew = raw[list(NAME_COLUMNS)].skew()
    logs = [c for c in NAME_COLUMNS if skew[c] > SKEW_THRESHOLD]
    x = raw.copy()
    for col in logs:
        x[col] = np.log1p(x[col].clip(lower=0))
    mean = x.mean().to_numpy()
    scale = x.std(ddof=0).replace(0, 1).to_numpy()
    return ClusterModel(columns=list(raw.columns), log_columns=logs, categories=cats,
                        mean=mean.tolist(), scale=scale.tolist(), centers=[],
                        cluster_ids=[], names=[], profiles=[])


def _fit_k(x: np.ndarray, k: int, algorithm: str, random_state: int):
    if algorithm == "gmm":
        gm = GaussianMixture(k, covariance_type="diag", random_state=random_state,
                             n_init=2).fit(x)
        return gm.means_, gm.predict(x), gm.bic(x)
    km = KMeans(k, n_init=4, random_state=random_state).fit(x)
    return km.cluster_centers_, km.labels_, None


def _merge_small(x: np.ndarray, centers: np.ndarray, min_share: float) -> np.ndarray:
    """Drop the smallest centre while any cluster is under min_share; recompute."""
    while len(centers) > 2:
        labels = ((x[:, None, :] - centers[None]) ** 2).sum(2).argmin(1)
        shares = np.bincount(labels, minlength=len(centers)) / len(x)
        smallest = shares.argmin()
        if shares[smallest] >= min_share:
            break
        keep = np.delete(np.arange(len(centers)), smallest)
        centers = centers[keep]
        labels = ((x[:, None, :] - centers[None]) ** 2).sum(2).argmin(1)
        centers = np.stack([x[labels == i].mean(0) if (labels == i).any() else centers[i]
                            for i in range(len(centers))])
    return centers


def name_clusters(profiles: pd.DataFrame, base: pd.Series, spread: pd.Series) -> list[str]:
    """A marketer's name for each centroid (rows of `profiles`, original units), from how
    it differs from the base (`base` mean and `spread` std of each column)."""
    z = (profiles[list(NAME_COLUMNS)] - base[list(NAME_COLUMNS)]) / \
        spread[list(NAME_COLUMNS)].replace(0, 1)
    names = []
    for _, r in z.iterrows():
        if r.orders_per_year > 0.8 and r.avg_order_value > 0.3:
            name = "high-value loyal"
        elif r.coupon_order_share > 0.8:
            name = "bargain hunters"
        elif r.visit_days_per_month > 0.5 and r.orders_per_year < 0:
            name = "window shoppers"
        elif r.open_rate < -0.7 and r.orders_per_year < 0:
            name = "dormant"
        elif r.orders_per_year > 0.5:
            name = "frequent buyers"
        elif r.open_rate > 0.5:
            name = "engaged readers"
        else:
            name = "occasional buyers"
        names.append(name)
    seen: dict[str, int] = {}
    unique = []
    for name in names:  # two clusters with one name: number them
        seen[name] = seen.get(name, 0) + 1
        unique.append(name if names.count(name) == 1 else f"{name} {seen[name]}")
    return unique


def fit_clusters(features: pd.DataFrame, *, k_min: int = 3, k_max: int = 8,
                 algorithm: str = "kmeans", min_share: float = 0.02,
                 silhouette_sample: int = 10_000, random_state: int = 42,
                 preference_weight: float = 2.0,
                 previous: ClusterModel | None = None) -> ClusterModel:
    """Fit on `features` (rows of user_features, already a sample if large)."""
    model = _prepare(features)
    model.algorithm = algorithm
    model.preference_weight = preference_weight
    x = model.matrix(features)
    rng = np.random.default_rng(random_state)
    sample = x if len(x) <= silhouette_sample else \
        x[rng.choice(len(x), silhouette_sample, replace=False)]
    k_max = max(k_min, min(k_max, len(x) // 10))
    scores = {}
    best = None
    for k in range(k_min, k_max + 1):
        centers, labels, bic = _fit_k(x, k, algorithm, random_state)
        if algorithm == "gmm":
            score = -bic
        else:
            lab = ((sample[:, None, :] - centers[None]) ** 2).sum(2).argmin(1)
            score = silhouette_score(sample, lab) if len(set(lab)) > 1 else -1.0
        scores[k] = float(score)
        if best is None or score > best[0]:
            best = (score, k, centers)
    _, k, centers = best
    centers = _merge_small(x, np.asarray(centers), min_share)
    labels = ((x[:, None, :] - centers[None]) ** 2).sum(2).argmin(1)
    raw = _raw_matrix(features, model.categories)
    profiles = raw.groupby(labels).mean()
    sizes = np.bincount(labels, minlength=len(centers))
    names = name_clusters(profiles, raw.mean(), raw.std(ddof=0))
    ids = list(range(1, len(centers) + 1))
    if previous is not None and previous.centers:
        ids, names = _match_previous(model, np.asarray(centers), names, previous)
    model.centers = np.asarray(centers).tolist()
    model.cluster_ids = [int(i) for i in ids]
    model.names = names
    model.k = len(centers)
    model.profiles = [
        {"cluster_id": int(ids[i]), "cluster_name": names[i], "size": int(sizes[i]),
         "share": float(sizes[i] / len(x)),
         **{c: float(profiles.loc[i, c]) for c in NAME_COLUMNS}}
        for i in range(len(centers))
    ]
    sil_lab = ((sample[:, None, :] - np.asarray(centers)[None]) ** 2).sum(2).argmin(1)
    model.metrics = {
        "k": model.k, "k_scores": scores, "fit_rows": len(x),
        "silhouette": float(silhouette_score(sample, sil_lab))
        if len(set(sil_lab)) > 1 else None,
        "cluster_sizes": {n: int(s) for n, s in zip(names, sizes, strict=True)},
    }
    return model


def _match_previous(model: ClusterModel, centers: np.ndarray, names: list[str],
                    previous: ClusterModel) -> tuple[list[int], list[str]]:
    """Give each new centre the id and name of the previous centre it matches best
    (Hungarian assignment on distances in the new space); unmatched centres get new
    ids and their own names."""
    prev_raw = pd.DataFrame([{c: p.get(c, 0.0) for c in NAME_COLUMNS}
                             for p in previous.profiles])
    # previous centres carried into the new space through the new transform
    prev_full = pd.DataFrame(0.0, index=prev_raw.index, columns=model.columns)
    for c in NAME_COLUMNS:
        prev_full[c] = prev_raw[c]
    prev_std = _standardise(prev_full, model)
    cols = [model.columns.index(c) for c in NAME_COLUMNS]
    cost = ((centers[:, None, cols] - prev_std[None, :, cols]) ** 2).sum(2)
    rows, matched = linear_sum_assignment(cost)
    ids = [0] * len(centers)
    out_names = list(names)
    for r, m in zip(rows, matched, strict=True):
        ids[r] = previous.cluster_ids[m]
        out_names[r] = previous.names[m]
    next_id = max(previous.cluster_ids) + 1
    for i in range(len(centers)):
        if ids[i] == 0:
            ids[i] = next_id
            next_id += 1
    return ids, out_names
