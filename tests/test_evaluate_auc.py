"""The evaluation's AUC against an independent oracle (scikit-learn) and the rank formula it replaced."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import rankdata
from sklearn.metrics import roc_auc_score

from training.evaluate import _auc


def _rank_auc(scores: np.ndarray, positives: np.ndarray, candidates: np.ndarray) -> float:
    cand = scores[candidates]
    mask = np.isin(candidates, positives)
    n_pos, n_neg = int(mask.sum()), len(candidates) - int(mask.sum())
    ranks = rankdata(cand)
    return float((ranks[mask].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


@pytest.mark.parametrize("seed", range(12))
def test_auc_matches_sklearn_and_ranks_with_ties(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 400))
    # coarse scores so that ties (between positives, and across classes) are common
    scores = rng.integers(0, 6 if seed % 2 else 1000, size=n).astype(np.float64)
    excluded = rng.random(n) < 0.2
    scores[excluded] = -np.inf
    candidates = np.flatnonzero(np.isfinite(scores))
    positives = rng.choice(n, size=int(rng.integers(1, max(2, n // 5))), replace=False)
    in_cands = np.intersect1d(positives, candidates)
    if len(in_cands) == 0 or len(in_cands) == len(candidates):
        assert np.isnan(_auc(scores, positives, candidates))
        return
    labels = np.isin(candidates, positives)
    got = _auc(scores, positives, candidates)
    assert got == pytest.approx(roc_auc_score(labels, scores[candidates]), abs=1e-12)
    assert got == pytest.approx(_rank_auc(scores, positives, candidates), abs=1e-12)


def test_auc_ignores_positives_that_are_not_candidates_and_duplicates() -> None:
    scores = np.array([0.9, 0.1, 0.5, -np.inf, 0.3])
    candidates = np.flatnonzero(np.isfinite(scores))
    # item 3 was a training item (excluded); item 0 is listed twice
    assert _auc(scores, np.array([0, 0, 3]), candidates) == 1.0
    assert _auc(scores, np.array([1]), candidates) == 0.0
    assert np.isnan(_auc(scores, np.array([3]), candidates))
