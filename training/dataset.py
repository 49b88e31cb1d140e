"""Interactions and side features as sparse matrices, the common input of every algorithm.

Ids are strings outside and row numbers inside; the mapping lives here and travels with
each model version so serving can translate back.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import scipy.sparse as sp

from core.events import DEFAULT_EVENT_WEIGHTS
from recommender.features import FeatureList

# Names of the identity features (an entity's own column in a LightFM feature matrix); other
# code recognises them by these prefixes, e.g. ALS leaves them out of its user-feature columns.
USER_IDENTITY_PREFIX = "user:"
ITEM_IDENTITY_PREFIX = "item:"


@dataclass(frozen=True)
class Interaction:
    user: str
    item: str
    weight: float
    timestamp: datetime | None = None


@dataclass
class InteractionData:
    """Users x items confidences plus optional side features, all aligned by row."""

    user_ids: list[str]
    item_ids: list[str]
    interactions: sp.csr_matrix
    user_features: sp.csr_matrix | None = None
    user_feature_names: list[str] = field(default_factory=list)
    item_features: sp.csr_matrix | None = None
    item_feature_names: list[str] = field(default_factory=list)
    item_embeddings: np.ndarray | None = None
    cluster_centroids: np.ndarray | None = None

    @property
    def shape(self) -> tuple[int, int]:
        return self.interactions.shape

    def with_interactions(self, matrix: sp.csr_matrix) -> "InteractionData":
        """The same users, items and features over another interaction matrix (a split)."""
        return InteractionData(
            self.user_ids, self.item_ids, matrix.tocsr(), self.user_features,
            self.user_feature_names, self.item_features, self.item_feature_names,
            self.item_embeddings, self.cluster_centroids,
        )

    def user_index(self) -> dict[str, int]:
        return {u: i for i, u in enumerate(self.user_ids)}

    def item_index(self) -> dict[str, int]:
        return {u: i for i, u in enumerate(self.item_ids)}


SECONDS_PER_DAY = 86400.0


def decay_factor(age_seconds: float, half_life_days: float) -> float:
    """How much an interaction ``age_seconds`` older than the newest one still counts."""
    return float(0.5 ** (max(age_seconds, 0.0) / SECONDS_PER_DAY / half_life_days))


def aggregate_events(
    events: Iterable[tuple[str, str, str] | tuple[str, str, str, datetime | float | None]],
    weights: Mapping[str, float] = DEFAULT_EVENT_WEIGHTS,
    half_life_days: float | None = None,
) -> list[Interaction]:
    """``(user, item, event type[, time])`` to one interaction per pair, in one pass (the
    event log may be large: nothing but one entry per pair is kept).

    A pair's confidence is its strongest positive event; any negative event (dismiss,
    report) removes the pair from the positives altogether. With times, each pair keeps
    its latest time (what the ``time`` split orders by), and ``half_life_days`` multiplies
    each event's weight by ``0.5 ** (age / half_life)``, the age counted from the newest
    event, so that what a user did long ago counts less than what they do now. The newest
    event is known only at the end, so the strongest event is chosen on log-weights
    shifted by time, which orders events exactly as their decayed weights do. Times are
    datetimes (the event log) or Unix seconds (files), not mixed.
    """
    per_second = math.log(2) / (half_life_days * SECONDS_PER_DAY) if half_life_days is not None else 0.0
    origin: float | None = None
    newest: float | None = None
    best: dict[tuple[str, str], float] = {}  # strongest weight, or with decay its shifted log
    latest: dict[tuple[str, str], Any] = {}  # datetime or seconds, as given
    negative: set[tuple[str, str]] = set()
    for event in events:
        user, item, kind = event[0], event[1], event[2]
        when = event[3] if len(event) > 3 else None
        key = (user, item)
        if when is not None:
            if key not in latest or when > latest[key]:
                latest[key] = when
            stamp = when.timestamp() if isinstance(when, datetime) else float(when)
            origin = stamp if origin is None else origin
            newest = stamp if newest is None else max(newest, stamp)
        elif half_life_days is not None:
            raise ValueError("time decay needs a time on every event")
        w = weights.get(kind, 0.0)
        if w < 0:
            negative.add(key)
        elif w > 0:
            score = w if half_life_days is None or origin is None else math.log(w) + (stamp - origin) * per_second
            if key not in best or score > best[key]:
                best[key] = score
    if half_life_days is not None and newest is not None and origin is not None:
        shift = (newest - origin) * per_second
        best = {key: math.exp(score - shift) for key, score in best.items()}
    return [Interaction(u, i, w, latest.get((u, i))) for (u, i), w in best.items() if (u, i) not in negative]


def interaction_matrix(
    interactions: Iterable[Interaction], user_ids: Sequence[str], item_ids: Sequence[str]
) -> sp.csr_matrix:
    uidx = {u: n for n, u in enumerate(user_ids)}
    iidx = {i: n for n, i in enumerate(item_ids)}
    rows, cols, vals = [], [], []
    for it in interactions:
        if it.user in uidx and it.item in iidx:
            rows.append(uidx[it.user])
            cols.append(iidx[it.item])
            vals.append(it.weight)
    matrix = sp.csr_matrix(
        (np.asarray(vals, dtype=np.float32), (rows, cols)),
        shape=(len(user_ids), len(item_ids)),
    )
    matrix.sum_duplicates()
    return matrix


def feature_matrix(
    entity_ids: Sequence[str],
    features: Mapping[str, FeatureList],
    identity_prefix: str | None,
    vocabulary: Sequence[str] | None = None,
) -> tuple[sp.csr_matrix, list[str]]:
    """Rows of (optionally identity plus) named features, each row normalised to sum 1.

    Normalising keeps an entity's representation on the same scale whatever its number
    of features, which is what lets LightFM build a cold entity from features alone.
    """
    names: list[str] = list(vocabulary) if vocabulary is not None else []
    index = {n: i for i, n in enumerate(names)}
    if vocabulary is None:
        if identity_prefix is not None:
            for e in entity_ids:
                index.setdefault(f"{identity_prefix}{e}", len(index))
        for e in entity_ids:
            for name, _w in features.get(e, ()):
                index.setdefault(name, len(index))
        names = [None] * len(index)  # type: ignore[list-item]  # every slot is filled by the loop below
        for n, i in index.items():
            names[i] = n
    rows, cols, vals = [], [], []
    for r, e in enumerate(entity_ids):
        if identity_prefix is not None and f"{identity_prefix}{e}" in index:
            rows.append(r)
            cols.append(index[f"{identity_prefix}{e}"])
            vals.append(1.0)
        for name, w in features.get(e, ()):
            if name in index:
                rows.append(r)
                cols.append(index[name])
                vals.append(float(w))
    matrix = sp.csr_matrix(
        (np.asarray(vals, dtype=np.float32), (rows, cols)), shape=(len(entity_ids), len(names))
    )
    matrix.sum_duplicates()
    sums = np.asarray(matrix.sum(axis=1)).ravel()
    sums[sums == 0] = 1.0
    matrix = sp.diags(1.0 / sums).astype(np.float32) @ matrix
    return matrix.tocsr(), names
