"""Folding a user's interactions into a user vector without retraining.

Every user who interacts after a model was trained gets their vector here, so it is
measured against the trained vectors on MovieLens by ``bench/foldin.py``.

- **ALS** (squared loss): the closed-form user step of Hu, Koren and Volinsky (2008). With
  item matrix Y and the user's confidences c_i = α·w_i on the items they engaged with,

      (YᵀY + λI + Σ_i (c_i - 1) y_i y_iᵀ) u = Σ_i c_i y_i

  with the model's own λ and α (:func:`foldin_settings`); YᵀY is computed once per model.
  This is the step training itself ends with, so a folded-in user lands where training
  would put them.
- **LightFM and implicit's BPR** (ranking losses, last column an item bias times a
  constant 1): there is no such step. The least-squares solve ranked badly there (a fifth
  of the trained precision@10 on MovieLens), so the user vector is the confidence-weighted
  mean of the factor rows of their items, rescaled to the typical trained user norm: close
  to the trained vectors (93% of their precision@10 for the tuned hybrid) at the cost of a
  gather and a sum.
- **EASE** (:class:`HistoryFoldIn`): an item-item model whose user vector *is* the user's
  history over its basis items (the most popular items, :func:`history_basis`) plus a
  constant 1 for its popularity fallback column, so folding in is exact: no solve at all.
- **Blends** (:class:`BlendFoldIn`): each part folds in by its own rule, then is centred,
  standardised and weighted exactly as ``training.models.blend.ScoreBlend`` built the trained
  vectors.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

FIXED_BIAS_ALGORITHMS = frozenset({"lightfm", "bpr"})
HISTORY_ALGORITHMS = frozenset({"ease"})
DEFAULT_REGULARIZATION = 0.1
# EASE's last item column is log-popularity scaled to at most this: it orders items for a
# user with no basis item in their history and is far below any learnt item-item weight
EASE_FALLBACK_WEIGHT = 1e-6


def log_popularity(matrix: Any) -> np.ndarray:
    """``log(1 + number of users per item)`` as float32: the popularity a version publishes
    and the order EASE's basis is chosen by (one function, so both sides agree exactly)."""
    counts = np.asarray((matrix > 0).sum(axis=0)).ravel()
    return np.log1p(counts).astype(np.float32)


def history_basis(popularity: np.ndarray, size: int) -> np.ndarray:
    """The item rows of a history model's basis: the ``size`` most popular items, ties in
    row order. Training and serving both derive it from the published popularity, so the
    basis needs no storage of its own."""
    order = np.argsort(-np.asarray(popularity, dtype=np.float32), kind="stable")
    return np.sort(order[: max(0, min(int(size), len(order)))])


def foldin_settings(algorithm: str, params: Mapping[str, Any]) -> dict[str, float]:
    """The regularisation and confidence scale the user step must use for a model.

    An ALS model's users were solved with its own λ and α; folding a user in with other
    values puts them elsewhere (a tuned λ of 25 against 0.1 cost 12% of precision@10 on
    MovieLens). Other models were not trained with this step, so they keep the defaults.
    """
    if algorithm == "als":
        return {"regularization": float(params.get("regularization", DEFAULT_REGULARIZATION)),
                "alpha": float(params.get("alpha", 1.0))}
    if algorithm in HISTORY_ALGORITHMS:
        # whether histories are binary: all a history fold-in needs besides the item matrix
        return {"regularization": DEFAULT_REGULARIZATION, "alpha": 1.0,
                "binary": float(bool(params.get("binary", True)))}
    return {"regularization": DEFAULT_REGULARIZATION, "alpha": 1.0}


def typical_user_norm(users: np.ndarray, algorithm: str) -> float:
    """Median norm of the trained users' factor columns: the scale fold-in returns to."""
    if users.size == 0:
        return 1.0
    factors = users[:, :-1] if algorithm in FIXED_BIAS_ALGORITHMS else users
    return float(np.median(np.linalg.norm(factors, axis=1)))


def _padded(rows: Sequence[np.ndarray], confidences: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Histories padded to the longest: item index, confidence (1 when padded), presence."""
    n = len(rows)
    longest = max(len(r) for r in rows)
    index = np.zeros((n, longest), dtype=np.int64)
    conf = np.ones((n, longest))
    present = np.zeros((n, longest))
    for u, (r, c) in enumerate(zip(rows, confidences)):
        index[u, : len(r)] = r
        conf[u, : len(r)] = np.asarray(c, dtype=np.float64)
        present[u, : len(r)] = 1.0
    return index, conf, present


@dataclass(frozen=True)
class FoldIn:
    gram: np.ndarray | None  # YᵀY + λI, shared by every user (ALS-style models only)
    fixed_bias: bool
    regularization: float
    target_norm: float | None
    alpha: float = 1.0  # confidence = alpha * interaction weight, as implicit's ALS takes it

    @classmethod
    def for_items(
        cls, item_matrix: np.ndarray, algorithm: str, regularization: float = DEFAULT_REGULARIZATION,
        target_norm: float | None = None, alpha: float = 1.0,
    ) -> "FoldIn":
        fixed = algorithm in FIXED_BIAS_ALGORITHMS
        gram = None
        if not fixed:
            factors = item_matrix.astype(np.float64)
            gram = factors.T @ factors + regularization * np.eye(factors.shape[1])
        return cls(gram, fixed, regularization, target_norm, float(alpha))

    def user_vector(
        self, item_matrix: np.ndarray, rows: np.ndarray, confidences: np.ndarray
    ) -> np.ndarray | None:
        """The user's vector from the rows they engaged with and their confidences (> 0)."""
        if len(rows) == 0:
            return None
        return self.user_vectors(item_matrix, [rows], [confidences])[0]

    def user_vectors(
        self, item_matrix: np.ndarray, rows: Sequence[np.ndarray], confidences: Sequence[np.ndarray]
    ) -> np.ndarray:
        """Many users at once, one batched computation (an events batch touches many users).

        A padded slot has a zero item row, so it adds nothing to a sum or to either side
        of the normal equations.
        """
        index, weight, present = _padded(rows, confidences)
        y = item_matrix[index].astype(np.float64) * present[:, :, None]
        if self.fixed_bias:
            return self._mean_of_history(y[:, :, :-1], weight * present)
        conf = np.maximum(self.alpha * weight, 1.0)
        extra = (conf - 1.0) * present
        assert self.gram is not None
        a = self.gram[None] + np.einsum("nld,nl,nle->nde", y, extra, y)
        b = np.einsum("nld,nl->nd", y, conf * present)
        return np.linalg.solve(a, b[:, :, None])[:, :, 0].astype(np.float32)

    def _mean_of_history(self, factors: np.ndarray, weights: np.ndarray) -> np.ndarray:
        u = np.einsum("nld,nl->nd", factors, np.maximum(weights, 0.0))
        norms = np.linalg.norm(u, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        u = u * ((self.target_norm or 1.0) / norms)
        return np.hstack([u, np.ones((len(u), 1))]).astype(np.float32)


class HistoryFoldIn:
    """Fold-in of a history model (EASE): the user vector is the user's interactions over
    the basis items (1 each when ``binary``, else their confidences), then a constant 1 for
    the fallback column. Exactly the vector training gave a user with that history."""

    def __init__(self, popularity: np.ndarray, basis_size: int, binary: bool = True) -> None:
        self.basis = history_basis(popularity, basis_size)
        self.binary = binary
        self.dim_of = np.full(len(popularity), -1, dtype=np.int64)
        self.dim_of[self.basis] = np.arange(len(self.basis))

    def user_vectors(
        self, item_matrix: np.ndarray, rows: Sequence[np.ndarray], confidences: Sequence[np.ndarray]
    ) -> np.ndarray:
        if item_matrix.shape[1] != len(self.basis) + 1:
            raise ValueError(f"the item matrix has {item_matrix.shape[1]} columns, the history basis "
                             f"{len(self.basis)} items and a fallback column")
        out = np.zeros((len(rows), len(self.basis) + 1), dtype=np.float32)
        out[:, -1] = 1.0
        for u, (r, c) in enumerate(zip(rows, confidences)):
            r = np.asarray(r, dtype=np.int64)
            c = np.asarray(c, dtype=np.float64)
            inside = r < len(self.dim_of)  # rows appended after training are in no basis
            dims = np.full(len(r), -1, dtype=np.int64)
            dims[inside] = self.dim_of[r[inside]]
            keep = (dims >= 0) & (c > 0)
            out[u, dims[keep]] = 1.0 if self.binary else c[keep]
        return out


def make_foldin(
    item_matrix: np.ndarray, algorithm: str, settings: Mapping[str, float], popularity: np.ndarray,
    target_norm: float | None = None,
) -> FoldIn | HistoryFoldIn:
    """The fold-in of a single (not blended) model from its published settings;
    ``popularity`` covers the trained items only (a history model's basis is among them)."""
    regularization = float(settings.get("regularization", DEFAULT_REGULARIZATION))
    alpha = float(settings.get("alpha", 1.0))
    if algorithm in HISTORY_ALGORITHMS:
        # the basis is every item matrix column but the fallback one: its size needs no setting
        return HistoryFoldIn(popularity, item_matrix.shape[1] - 1, bool(settings.get("binary", 1.0)))
    return FoldIn.for_items(item_matrix, algorithm, regularization, target_norm, alpha)


def centre_items(items: np.ndarray, seen: np.ndarray, place_unseen: bool) -> tuple[np.ndarray, np.ndarray]:
    """A blend part's item block and the mean it removed: its item vectors centred on the
    mean vector of the training items (``seen``), so a per-user shift of the part's scores,
    which never changes a ranking, is gone. A part that cannot place an unseen item
    (``place_unseen`` false: no item features) scores it as its average item, 0 after
    centring. :class:`BlendFoldIn` adds the mean back to recover the part's own rows."""
    v = np.asarray(items, dtype=np.float64).copy()
    mean = v[seen].mean(axis=0)
    if not place_unseen:
        v[~seen] = mean
    return v - mean, mean


def score_spread(users: np.ndarray, seen_items: np.ndarray, chunk: int = 1024) -> np.ndarray:
    """Each user's standard deviation of scores over the training items (1 where it is 0):
    dividing a part's user vectors by it puts every part of a blend on one scale, at
    training (``ScoreBlend``) and at fold-in (:class:`BlendFoldIn`) alike."""
    sd = np.empty(len(users))
    for start in range(0, len(users), chunk):
        sd[start:start + chunk] = (users[start:start + chunk] @ seen_items.T).std(axis=1)
    sd[~(sd > 1e-12)] = 1.0
    return sd


@dataclass(frozen=True)
class BlendPart:
    """One part of a blend as serving needs it to fold a user in (recorded at training)."""

    algorithm: str
    dims: int
    weight: float
    mean: np.ndarray  # the part's mean item vector over training items (removed in the blend)
    user_norm: float
    regularization: float = DEFAULT_REGULARIZATION
    alpha: float = 1.0
    binary: float = 1.0  # a history part (EASE): whether its histories are binary

    def to_json(self) -> dict[str, Any]:
        out = {"algorithm": self.algorithm, "dims": self.dims, "weight": self.weight,
               "mean": [float(x) for x in self.mean], "user_norm": self.user_norm,
               "regularization": self.regularization, "alpha": self.alpha}
        if self.algorithm in HISTORY_ALGORITHMS:
            out["binary"] = self.binary
        return out

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> "BlendPart":
        return cls(str(raw["algorithm"]), int(raw["dims"]), float(raw["weight"]),
                   np.asarray(raw["mean"], dtype=np.float64), float(raw["user_norm"]),
                   float(raw.get("regularization", DEFAULT_REGULARIZATION)), float(raw.get("alpha", 1.0)),
                   float(raw.get("binary", 1.0)))


class BlendFoldIn:
    """Fold-in for a blend's concatenated item matrix ``[v_1 - mean_1, v_2 - mean_2...]``.

    Each part's block plus its mean is that part's own item matrix, folded in by the part's
    rule; the part's user vector is then divided by the spread of its scores over the
    training items (``seen``) and weighted, as the trained blend vectors were.
    """

    def __init__(self, item_matrix: np.ndarray, parts: Sequence[BlendPart], seen: np.ndarray,
                 popularity: np.ndarray | None = None) -> None:
        if sum(p.dims for p in parts) != item_matrix.shape[1]:
            raise ValueError("the blend parts' dimensions do not add up to the item matrix")
        self.parts = list(parts)
        self.seen = np.asarray(seen, dtype=bool)
        if not self.seen.any():
            self.seen = np.ones(item_matrix.shape[0], dtype=bool)
        # Only each part's column range and its small shared solve are kept: a serving worker
        # already holds the item matrix, and a part's own rows are rebuilt for the rows a
        # batch of users touched.
        self.blocks: list[tuple[slice, FoldIn | HistoryFoldIn]] = []
        start = 0
        for part in self.parts:
            block = slice(start, start + part.dims)
            if part.algorithm in HISTORY_ALGORITHMS:
                if popularity is None:
                    raise ValueError("a blend with a history part (EASE) needs the trained items' popularity")
                self.blocks.append((block, HistoryFoldIn(popularity, part.dims - 1, bool(part.binary))))
            else:
                own = self._own_rows(item_matrix, np.arange(item_matrix.shape[0]), part, block)
                self.blocks.append((block, FoldIn.for_items(own, part.algorithm, part.regularization,
                                                            part.user_norm, part.alpha)))
            start += part.dims

    def _own_rows(self, item_matrix: np.ndarray, rows: np.ndarray, part: BlendPart, block: slice) -> np.ndarray:
        """Rows of the part's own item matrix: the blend's centred block plus the part's mean."""
        own = item_matrix[rows, block].astype(np.float64) + part.mean
        if part.algorithm not in FIXED_BIAS_ALGORITHMS:
            # the blend gave an item the part never saw its mean vector; in the part's own
            # model such an item has no factors, so it takes no part in the solve
            own[~self.seen[rows]] = 0.0
        return own

    def user_vectors(
        self, item_matrix: np.ndarray, rows: Sequence[np.ndarray], confidences: Sequence[np.ndarray]
    ) -> np.ndarray:
        """``item_matrix`` must be the matrix this fold-in was built for."""
        touched, inverse = np.unique(np.concatenate([np.asarray(r, dtype=np.int64) for r in rows]),
                                     return_inverse=True)
        local, start = [], 0
        for r in rows:  # each user's rows, renumbered into the touched rows
            local.append(inverse[start:start + len(r)])
            start += len(r)
        out = []
        for part, (block, foldin) in zip(self.parts, self.blocks):
            if isinstance(foldin, HistoryFoldIn):  # its vector is the history itself, by item row
                u = foldin.user_vectors(item_matrix[:, block], rows, confidences).astype(np.float64)
            else:
                own = self._own_rows(item_matrix, touched, part, block)
                u = foldin.user_vectors(own, local, confidences).astype(np.float64)
            sd = score_spread(u.astype(np.float32), item_matrix[self.seen, block])
            out.append(u * (part.weight / sd)[:, None])
        return np.hstack(out).astype(np.float32)
