"""Top-k selection over dot-product scores."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def top_k(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices and scores of the k best finite scores, best first.

    ``argpartition`` finds the k best in linear time; only those k are sorted. Items masked
    with ``-inf`` are never returned, even when fewer than k remain.
    """
    n = scores.shape[0]
    if n == 0 or k <= 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=scores.dtype)
    k = min(k, n)
    if k < n:
        part = np.argpartition(-scores, k - 1)[:k]
    else:
        part = np.arange(n)
    order = part[np.argsort(-scores[part], kind="stable")]
    finite = np.isfinite(scores[order])
    order = order[finite]
    return order, scores[order]


def chosen_topic_scores(topics: np.ndarray, chosen: Sequence[int], popularity: np.ndarray) -> np.ndarray | None:
    """Scores for a person the model cannot place (no history, and a model without user
    features, such as ALS or EASE) who told us their topics at onboarding.

    Items are ordered by how many of the chosen topics they cover, then by popularity:
    someone who picked sleep should see sleep content before whatever is popular, as a
    hybrid model with user features would give them. ``topics`` is the catalog view's
    (items x topics) boolean matrix, ``chosen`` column numbers in it. None when nothing
    chosen is known to the catalog.
    """
    cols = sorted(set(int(c) for c in chosen))
    if not cols:
        return None
    matches = topics[:, cols].sum(axis=1).astype(np.float64)
    pop = np.asarray(popularity, dtype=np.float64)
    finite = np.isfinite(pop)
    low, high = (pop[finite].min(), pop[finite].max()) if finite.any() else (0.0, 0.0)
    # popularity squeezed into [0, 0.9]: it orders items within one number of matched
    # topics and never lifts an item above one that matches more
    within = np.where(finite, (pop - low) / (high - low if high > low else 1.0), 0.0) * 0.9
    return (matches + within).astype(np.float32)
