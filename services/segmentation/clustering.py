"""Explained clusters: K-means on scaled RFM (plus chosen profile features), described by tree rules.

Features are log1p-transformed (spend and order counts are heavy-tailed) and standardised before K-means;
k is given or chosen by the silhouette score on a sample over a range. Labels are kept stable between runs
by matching the new centroids to the previous run's (Hungarian assignment on centroid distance in original
units). Each cluster is then described by a shallow decision tree trained to predict the cluster from the
original, unscaled features, so its rules read "recency_days <= 30 AND frequency > 5"; the tree's accuracy
against the K-means labels (its fidelity) says how far the rules can be trusted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier, _tree

LOG_FEATURES = frozenset({"recency_days", "frequency", "monetary"})


@dataclass
class ClusterDescription:
    label: int
    size: int
    share: float
    centroid: dict[str, float]  # original units
    rules: list[str] = field(default_factory=list)  # one conjunction per tree leaf that predicts this cluster
    rule_precision: float = 0.0  # share of customers matching the rules that are in the cluster


class ExplainedKMeans:
    """K-means with tree rules. `fit(X)` on a DataFrame of numeric features (no NaN) sets `labels_`,
    `k_`, `centers_` (DataFrame, original units), `silhouette_`, `fidelity_`, `descriptions_`."""

    def __init__(
        self,
        *,
        k: int | None = None,
        k_range: tuple[int, int] = (3, 8),
        sample_size: int = 5_000,
        tree_depth: int = 3,
        previous_centers: pd.DataFrame | None = None,
        random_state: int = 0,
    ) -> None:
        self.k = k
        self.k_range = k_range
        self.sample_size = sample_size
        self.tree_depth = tree_depth
        self.previous_centers = previous_centers
        self.random_state = random_state

    def fit(self, X: pd.DataFrame, y: object = None) -> ExplainedKMeans:  # noqa: N803 (scikit-learn's X)
        if X.isna().any().any():
            raise ValueError("features must not contain NaN")
        low, high = self.k_range
        if self.k is not None and not 2 <= self.k <= 50:
            raise ValueError("k must be between 2 and 50")
        if not 2 <= low <= high <= 50:
            raise ValueError("k_range must satisfy 2 <= low <= high <= 50")
        if len(X) < max(self.k or high, 2) + 1:
            raise ValueError(f"need more customers than clusters; got {len(X)}")
        rng = np.random.default_rng(self.random_state)
        scaled = StandardScaler().fit_transform(_transform(X))
        sample = scaled[rng.choice(len(X), size=min(self.sample_size, len(X)), replace=False)]
        # k is chosen on the sample (silhouette is quadratic in rows); the winner's centres seed one full fit.
        candidates = [self.k] if self.k is not None else list(range(low, min(high, len(sample) - 1) + 1))
        best: tuple[float, KMeans] | None = None
        for k in candidates:
            trial = KMeans(n_clusters=k, n_init=3, random_state=self.random_state).fit(sample)
            score = float(silhouette_score(sample, trial.labels_)) if len(np.unique(trial.labels_)) > 1 else -1.0
            if best is None or score > best[0]:
                best = (score, trial)
        assert best is not None
        self.silhouette_ = best[0]
        model = KMeans(n_clusters=best[1].n_clusters, init=best[1].cluster_centers_, n_init=1).fit(scaled)
        labels = model.labels_
        centers = _centers(X, labels, model.n_clusters)
        mapping = _stable_mapping(centers, self.previous_centers)
        self.labels_ = mapping[labels]
        self.k_ = model.n_clusters
        self.centers_ = centers.set_axis(mapping[centers.index.to_numpy()]).sort_index()
        # Leaves of at least 1% of customers keep the rules about groups, not about a handful of outliers.
        tree = DecisionTreeClassifier(
            max_depth=self.tree_depth, min_samples_leaf=max(1, len(X) // 100), random_state=self.random_state
        )
        tree.fit(X.to_numpy(), self.labels_)
        self.fidelity_ = float(tree.score(X.to_numpy(), self.labels_))
        self.descriptions_ = _describe(X, self.labels_, self.centers_, tree)
        return self


def _transform(X: pd.DataFrame) -> np.ndarray:  # noqa: N803
    columns = [np.log1p(X[c].clip(lower=0)) if c in LOG_FEATURES else X[c] for c in X.columns]
    return np.column_stack([np.asarray(c, dtype=float) for c in columns])


def _centers(X: pd.DataFrame, labels: np.ndarray, k: int) -> pd.DataFrame:  # noqa: N803
    # Medians in original units describe a skewed cluster better than the back-transformed mean.
    return X.groupby(labels).median().reindex(range(k))


def _stable_mapping(centers: pd.DataFrame, previous: pd.DataFrame | None) -> np.ndarray:
    """new label -> stable label: matched to the nearest previous centroid, new clusters numbered after."""
    k = len(centers)
    if previous is None or previous.empty or list(previous.columns) != list(centers.columns):
        # No history: number clusters by descending median spend (or first feature), so label 0 is the best.
        key = centers["monetary"] if "monetary" in centers else centers.iloc[:, 0]
        order = np.argsort(-key.to_numpy(), kind="stable")
        mapping = np.empty(k, dtype=int)
        mapping[order] = np.arange(k)
        return mapping
    both = pd.concat([centers, previous])
    spread = _transform(both).std(axis=0)
    spread[spread == 0] = 1
    new, old = _transform(centers) / spread, _transform(previous) / spread
    cost = np.linalg.norm(new[:, None, :] - old[None, :, :], axis=2)
    rows, cols = linear_sum_assignment(cost)
    mapping = np.full(k, -1, dtype=int)
    mapping[rows] = previous.index.to_numpy()[cols]
    unused = iter(sorted(set(range(k + len(previous))) - set(mapping[mapping >= 0].tolist())))
    for position in np.flatnonzero(mapping < 0):
        mapping[position] = next(unused)
    return mapping


def _describe(
    X: pd.DataFrame,  # noqa: N803
    labels: np.ndarray,
    centers: pd.DataFrame,
    tree: DecisionTreeClassifier,
) -> list[ClusterDescription]:
    leaves = tree.apply(X.to_numpy())
    integers = {c for c in X.columns if np.all(np.mod(X[c].to_numpy(dtype=float), 1) == 0)}
    paths = _leaf_paths(tree, list(X.columns), integers)
    leaf_class = {leaf: int(tree.classes_[np.argmax(tree.tree_.value[leaf])]) for leaf in paths}
    descriptions = []
    for label in centers.index:
        members = labels == label
        own_leaves = [leaf for leaf, cls in leaf_class.items() if cls == label]
        covered = np.isin(leaves, own_leaves)
        precision = float((members & covered).sum() / covered.sum()) if covered.any() else 0.0
        descriptions.append(
            ClusterDescription(
                label=int(label),
                size=int(members.sum()),
                share=float(members.mean()),
                centroid={c: round(float(v), 2) for c, v in centers.loc[label].items()},
                rules=[" AND ".join(paths[leaf]) or "all customers" for leaf in own_leaves],
                rule_precision=round(precision, 4),
            )
        )
    return descriptions


def _leaf_paths(tree: DecisionTreeClassifier, names: Sequence[str], integers: set[str]) -> dict[int, list[str]]:
    """leaf node id -> its conditions, with repeated bounds on one feature merged ("a > 1 AND a > 3" -> "a > 3")."""
    inner = tree.tree_
    paths: dict[int, list[str]] = {}

    def walk(node: int, bounds: dict[str, tuple[float, float]]) -> None:
        if inner.children_left[node] == _tree.TREE_LEAF:
            paths[node] = [_condition(name, low, high, name in integers) for name, (low, high) in bounds.items()]
            return
        name, threshold = names[inner.feature[node]], float(inner.threshold[node])
        low, high = bounds.get(name, (-np.inf, np.inf))
        walk(inner.children_left[node], bounds | {name: (low, min(high, threshold))})
        walk(inner.children_right[node], bounds | {name: (max(low, threshold), high)})

    walk(0, {})
    return paths


def _condition(name: str, low: float, high: float, integer: bool) -> str:
    if integer:  # thresholds fall between integers: "orders <= 1.5" reads "orders <= 1"
        low, high = np.floor(low), np.floor(high)
    parts = []
    if np.isfinite(low):
        parts.append(f"{name} > {_number(low)}")
    if np.isfinite(high):
        parts.append(f"{name} <= {_number(high)}")
    return " AND ".join(parts)


def _number(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.4g}"
