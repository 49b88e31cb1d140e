"""EASE: the closed-form item-item model of Steck (2019), "Embarrassingly Shallow
Autoencoders for Sparse Data".

With X the users x items matrix and G = XᵀX + λI, EASE's item-item weights are
``B = I - P diag(1 / diag(P))`` with ``P = G⁻¹`` (so ``B_jj = 0``: an item never
predicts itself), and a user's scores are ``x_u B``. On small and medium data it is one
of the strongest collaborative models there is, and it has no random start, no epochs and
one parameter, which makes it cheap to search.

How it reduces to Solace's one serving path (user vector · item vector):

- the **item vector** of item j is column j of B (its weights over the basis items), plus
  one fallback column;
- the **user vector** is the user's interaction row over the basis items, plus a constant
  1 in the fallback column. It is a fold-in by definition: any user's vector follows from
  their history alone, with no solve, and serving computes it exactly so
  (``recommender.foldin.HistoryFoldIn``); a trained user's vector and a folded-in one are
  identical.

Memory: the dense model inverts an items x items matrix. With more than ``max_items``
items, only the ``max_items`` most popular items form the basis (the inputs of the
regression); every other item is still scored, its column being the ridge regression of
that item's column of X on the basis items, ``(G_SS + λI)⁻¹ X_Sᵀ x_j``, the same
regression EASE solves for a basis item without the zero-diagonal constraint (which a
non-basis item does not need: it is not among its own inputs). Memory is then
``O(max_items²)`` for the inverse and ``n_items x max_items`` for the item matrix, and the
basis is the same popularity order serving derives from the published popularity
(``recommender.foldin.history_basis``), so nothing else has to be stored.

The fallback column (the item's log-popularity times a tiny weight) ranks items by
popularity for a user whose history holds no basis item, and breaks nothing else: its
contribution is far below any learnt weight.
"""

from __future__ import annotations

from typing import Any, Self

import numpy as np
import scipy.sparse as sp
from pydantic import Field

from recommender.foldin import EASE_FALLBACK_WEIGHT, history_basis, log_popularity
from training.dataset import InteractionData
from training.models.base import Recommender
from training.models.params import AlgorithmParams


class EASEParams(AlgorithmParams):
    """:class:`EASE`'s parameters."""

    algorithm = "ease"

    regularization: float = Field(500.0, gt=0)
    max_items: int = Field(5000, ge=1)
    binary: bool = True


class EASE(Recommender):
    """Closed-form item-item regression; see the module docstring for the serving form."""

    name = "ease"
    params_model = EASEParams

    def __init__(self, regularization: float = 500.0, max_items: int = 5000, binary: bool = True) -> None:
        # checked here too: a model built directly (not through check_params) must refuse a
        # λ of 0, which makes G singular for any item nobody interacted with
        EASEParams.check({"regularization": regularization, "max_items": max_items, "binary": binary})
        self.regularization = float(regularization)
        self.max_items = int(max_items)
        self.binary = bool(binary)

    def get_params(self) -> dict[str, Any]:
        return {"regularization": self.regularization, "max_items": self.max_items, "binary": self.binary}

    def _inputs(self, interactions: sp.csr_matrix) -> sp.csr_matrix:
        x = sp.csr_matrix(interactions, dtype=np.float64)
        x.data = np.where(x.data > 0, 1.0 if self.binary else x.data, 0.0)
        x.eliminate_zeros()
        return x

    def fit(self, data: InteractionData) -> Self:
        x = self._inputs(data.interactions)
        n_items = x.shape[1]
        popularity = log_popularity(data.interactions)
        basis = history_basis(popularity, self.max_items)
        xs = x[:, basis].tocsc()
        gram = (xs.T @ xs).toarray()
        gram[np.diag_indices_from(gram)] += self.regularization
        inverse = np.linalg.inv(gram)
        weights = np.empty((len(basis), n_items), dtype=np.float32)  # B restricted to the basis rows
        diag = np.diag(inverse)
        weights[:, basis] = (-inverse / diag[None, :]).astype(np.float32)
        weights[np.arange(len(basis)), basis] = 0.0
        rest = np.setdiff1d(np.arange(n_items), basis)
        if len(rest):
            cross = (xs.T @ x[:, rest].tocsc()).toarray()  # X_Sᵀ X_rest
            weights[:, rest] = (inverse @ cross).astype(np.float32)
        top = float(popularity.max()) if popularity.size and popularity.max() > 0 else 1.0
        fallback = (EASE_FALLBACK_WEIGHT * popularity / top).astype(np.float32)
        self.basis_ = basis
        self.item_vectors_ = np.ascontiguousarray(np.hstack([weights.T, fallback[:, None]]))
        self.history_ = x[:, basis].tocsr().astype(np.float32)
        return self

    def item_vectors(self) -> np.ndarray:
        return self.item_vectors_

    def user_vectors(self) -> np.ndarray:
        ones = np.ones((self.history_.shape[0], 1), dtype=np.float32)
        return np.hstack([self.history_.toarray(), ones])

    def user_vectors_of(self, user_rows: np.ndarray) -> np.ndarray:
        """The vectors of some users only (a dense row per user is n_basis + 1 floats)."""
        ones = np.ones((len(user_rows), 1), dtype=np.float32)
        return np.hstack([self.history_[user_rows].toarray(), ones])

    def scores(self, user_rows: np.ndarray) -> np.ndarray:
        """Without building every user's dense vector (the workbench scores in batches)."""
        history = self.history_[user_rows]
        items = self.item_vectors_
        return np.asarray(history @ items[:, :-1].T) + items[:, -1][None, :]
