"""Train/test splits of an interaction matrix, all seeded."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def random_split(
    matrix: sp.csr_matrix, test_share: float = 0.2, random_state: int = 42, min_train: int = 1
) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """Per-user holdout: a share of each user's positives goes to test.

    A user keeps at least ``min_train`` positives in train, so every test user is a warm
    user; users with too few positives stay wholly in train.
    """
    rng = np.random.default_rng(random_state)
    coo = matrix.tocsr()
    train_mask = np.ones(coo.nnz, dtype=bool)
    for u in range(coo.shape[0]):
        lo, hi = coo.indptr[u], coo.indptr[u + 1]
        n = hi - lo
        n_test = int(np.floor(n * test_share))
        n_test = min(n_test, n - min_train)
        if n_test <= 0:
            continue
        chosen = rng.choice(n, size=n_test, replace=False)
        train_mask[lo + chosen] = False
    return _masked(coo, train_mask), _masked(coo, ~train_mask)


def time_split(
    matrix: sp.csr_matrix, timestamps: sp.csr_matrix, test_share: float = 0.2, min_train: int = 1
) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """Each user's latest interactions go to test (``timestamps`` aligned with ``matrix``)."""
    csr = matrix.tocsr()
    ts = timestamps.tocsr()
    train_mask = np.ones(csr.nnz, dtype=bool)
    for u in range(csr.shape[0]):
        lo, hi = csr.indptr[u], csr.indptr[u + 1]
        n = hi - lo
        n_test = min(int(np.floor(n * test_share)), n - min_train)
        if n_test <= 0:
            continue
        order = np.argsort(ts.data[lo:hi], kind="stable")
        train_mask[lo + order[n - n_test :]] = False
    return _masked(csr, train_mask), _masked(csr, ~train_mask)


def cold_item_split(
    matrix: sp.csr_matrix, item_share: float = 0.2, random_state: int = 42
) -> tuple[sp.csr_matrix, sp.csr_matrix, np.ndarray]:
    """All interactions of a share of items go to test; returns the held-out item rows too."""
    rng = np.random.default_rng(random_state)
    n_items = matrix.shape[1]
    cold = np.sort(rng.choice(n_items, size=max(1, int(round(n_items * item_share))), replace=False))
    csr = matrix.tocsr()
    is_cold = np.zeros(n_items, dtype=bool)
    is_cold[cold] = True
    test_mask = is_cold[csr.indices]
    return _masked(csr, ~test_mask), _masked(csr, test_mask), cold


def _masked(csr: sp.csr_matrix, keep: np.ndarray) -> sp.csr_matrix:
    coo = csr.tocoo()
    out = sp.csr_matrix(
        (coo.data[keep], (coo.row[keep], coo.col[keep])), shape=csr.shape, dtype=csr.dtype
    )
    out.sort_indices()
    return out
