"""Top-k selection over dot-product scores."""

from __future__ import annotations

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
