"""Baselines every model must beat: popularity, and content-only cosine."""

from __future__ import annotations

from typing import Any, Self

import numpy as np

from training.dataset import InteractionData
from training.models.base import Recommender
from training.models.params import AlgorithmParams


class PopularityParams(AlgorithmParams):
    """Popularity takes no parameters: any name given is a mistake worth saying."""

    algorithm = "popularity"


class ContentParams(AlgorithmParams):
    """The content baseline takes no parameters either."""

    algorithm = "content"


class Popularity(Recommender):
    """Score = log(1 + number of users who engaged); the same list for everyone."""

    name = "popularity"
    params_model = PopularityParams

    def get_params(self) -> dict[str, Any]:
        return {}

    def fit(self, data: InteractionData) -> Self:
        counts = np.asarray((data.interactions > 0).sum(axis=0)).ravel()
        self.item_scores_ = np.log1p(counts).astype(np.float32)
        self.n_users_ = data.interactions.shape[0]
        return self

    def item_vectors(self) -> np.ndarray:
        return self.item_scores_[:, None]

    def user_vectors(self) -> np.ndarray:
        return np.ones((self.n_users_, 1), dtype=np.float32)

    def user_feature_vectors(self) -> np.ndarray | None:
        return None


class ContentCosine(Recommender):
    """A user is the confidence-weighted mean embedding of what they engaged with."""

    name = "content"
    params_model = ContentParams

    def get_params(self) -> dict[str, Any]:
        return {}

    def fit(self, data: InteractionData) -> Self:
        if data.item_embeddings is None:
            raise ValueError("the content baseline needs item embeddings (the items' texts, embedded)")
        emb = data.item_embeddings.astype(np.float32)
        norms = np.linalg.norm(emb, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        self.items_ = emb / norms
        profile = data.interactions.astype(np.float32) @ self.items_
        pnorm = np.linalg.norm(profile, axis=1, keepdims=True)
        pnorm[pnorm == 0] = 1.0
        self.users_ = np.asarray(profile / pnorm, dtype=np.float32)
        return self

    def item_vectors(self) -> np.ndarray:
        return self.items_

    def user_vectors(self) -> np.ndarray:
        return self.users_
