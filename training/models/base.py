"""The small interface every algorithm shares: fit on arrays, expose vectors, recommend.

Every model Solace serves reduces to dot products: a user vector times an item matrix.
That is what makes one serving path, one evaluation and one Redis layout serve all of them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar, Self

import numpy as np
import scipy.sparse as sp

from training.dataset import InteractionData
from training.models.params import AlgorithmParams


class Recommender(ABC):
    name: str = "base"
    # the constructor's parameters as a pydantic model, checked before any data loads
    params_model: ClassVar[type[AlgorithmParams]] = AlgorithmParams

    @abstractmethod
    def fit(self, data: InteractionData) -> Self:
        """Learn from ``data.interactions`` (users x items confidences) and side features."""

    @abstractmethod
    def item_vectors(self) -> np.ndarray:
        """(n_items, d) float32: the item matrix serving scores against."""

    @abstractmethod
    def user_vectors(self) -> np.ndarray:
        """(n_users, d) float32, aligned with the training users."""

    def user_feature_vectors(self) -> np.ndarray | None:
        """(n_user_features, d): a cold user's vector is the weighted sum of its rows."""
        return None

    def item_feature_vectors(self) -> np.ndarray | None:
        """(n_item_features, d): a new item's vector is the weighted sum of its rows."""
        return None

    def foldin_parts(self) -> list[Any] | None:
        """For a model made of parts (a blend): how serving folds a new user into each
        part (``recommender.foldin.BlendPart``); None for a single model."""
        return None

    def training_notes(self) -> dict[str, Any] | None:
        """What the version's manifest should also record about how this fit ran (another
        engine's own parameters and timings), after :meth:`fit`; None for none."""
        return None

    @abstractmethod
    def get_params(self) -> dict[str, Any]:
        """Constructor parameters, recorded in the model version's manifest."""

    def scores(self, user_rows: np.ndarray) -> np.ndarray:
        return self.user_vectors()[user_rows] @ self.item_vectors().T

    def recommend(
        self, user_row: int, k: int = 10, exclude: sp.csr_matrix | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-k item rows and scores for one training user, skipping ``exclude``'s items."""
        from recommender.scoring import top_k

        scores = self.scores(np.array([user_row]))[0]
        if exclude is not None:
            scores[exclude[user_row].indices] = -np.inf
        return top_k(scores, k)
