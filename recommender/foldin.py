"""Folding a user's interactions into a user vector without retraining.

The closed-form ALS user step (Hu, Koren and Volinsky 2008): with item matrix Y and the
user's confidences c_i on the items they engaged with,

    (YᵀY + λI + Σ_i (c_i - 1) y_i y_iᵀ) u = Σ_i c_i y_i

(confidences as implicit uses them: the interaction weights themselves).

YᵀY is shared by every user and computed once per model. For models whose last column is
an item bias multiplied by a constant 1 in the user vector (LightFM, implicit's BPR), the
bias column is held fixed and moved to the right-hand side, and the solution is rescaled
to the typical norm of the trained users, since those models are not trained with a
squared loss and their scores live on that scale.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

FIXED_BIAS_ALGORITHMS = frozenset({"lightfm", "bpr"})
DEFAULT_REGULARIZATION = 0.1


def foldin_settings(algorithm: str, params: dict[str, Any]) -> dict[str, float]:
    """The regularisation and confidence scale the user step must use for a model.

    An ALS model's users were solved with its own λ and α; folding a user in with other
    values puts them in another place than training would (a tuned λ of 25 against 0.1
    cost a fifth of precision@10 on MovieLens, see ``bench/foldin.py``). Other models were
    not trained with this step, so they keep the defaults.
    """
    if algorithm == "als":
        return {"regularization": float(params.get("regularization", DEFAULT_REGULARIZATION)),
                "alpha": float(params.get("alpha", 1.0))}
    return {"regularization": DEFAULT_REGULARIZATION, "alpha": 1.0}


@dataclass(frozen=True)
class FoldIn:
    gram: np.ndarray  # YᵀY + λI over the factor columns, shared by every user
    bias_term: np.ndarray | None  # Σ_i b_i y_i, for fixed-bias models
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
        factors = item_matrix[:, :-1] if fixed else item_matrix
        factors = factors.astype(np.float64)
        bias_term = factors.T @ item_matrix[:, -1].astype(np.float64) if fixed else None
        gram = factors.T @ factors + regularization * np.eye(factors.shape[1])
        return cls(gram, bias_term, fixed, regularization, target_norm, float(alpha))

    def user_vector(
        self, item_matrix: np.ndarray, rows: np.ndarray, confidences: np.ndarray
    ) -> np.ndarray | None:
        """The user's vector from the rows they engaged with and their confidences (> 0)."""
        if len(rows) == 0:
            return None
        return self.user_vectors(item_matrix, [rows], [confidences])[0]

    def user_vectors(
        self, item_matrix: np.ndarray, rows: list[np.ndarray], confidences: list[np.ndarray]
    ) -> np.ndarray:
        """Many users at once, one batched solve (an events batch touches many users).

        Histories are padded to the longest; a padded slot has confidence 1 and a zero
        item row, so it adds nothing to either side of the normal equations.
        """
        n = len(rows)
        longest = max(len(r) for r in rows)
        index = np.zeros((n, longest), dtype=np.int64)
        conf = np.ones((n, longest))
        present = np.zeros((n, longest))
        for u, (r, c) in enumerate(zip(rows, confidences)):
            index[u, : len(r)] = r
            conf[u, : len(r)] = np.maximum(self.alpha * np.asarray(c, dtype=np.float64), 1.0)
            present[u, : len(r)] = 1.0
        y_all = item_matrix[index].astype(np.float64) * present[:, :, None]
        y = y_all[:, :, :-1] if self.fixed_bias else y_all
        extra = conf - 1.0
        a = self.gram[None] + np.einsum("nld,nl,nle->nde", y, extra, y)
        b = np.einsum("nld,nl->nd", y, conf)
        if self.fixed_bias:
            bias = y_all[:, :, -1]
            b = b - self.bias_term[None] - np.einsum("nld,nl->nd", y, extra * bias)  # type: ignore[index]
        u = np.linalg.solve(a, b[:, :, None])[:, :, 0]
        if self.fixed_bias:
            if self.target_norm:
                norms = np.linalg.norm(u, axis=1, keepdims=True)
                norms[norms == 0] = 1.0
                u = u * (self.target_norm / norms)
            u = np.hstack([u, np.ones((n, 1))])
        return u.astype(np.float32)
