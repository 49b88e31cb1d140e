"""A feature-based model that places items without training interactions by their
features alone, as serving places a newly approved resource."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from training.dataset import InteractionData
from training.models.base import Recommender

class NewItemsFromFeatures(Recommender):
    """A feature-based model trained only on the items seen in training.

    An item without training interactions plays no part in fitting (in production a new
    item does not exist yet when the model is trained, so it must not even serve as a
    sampled negative); afterwards every item's vector is its feature row times the learnt
    feature vectors, which for a cold item means its given features and text alone. This
    is the same sum serving uses to place a new item (``vector_from_features``).
    """

    name = "lightfm"

    def __init__(self, inner: Recommender) -> None:
        self.inner = inner

    def get_params(self) -> dict[str, Any]:
        return self.inner.get_params()

    def fit(self, data: InteractionData) -> "NewItemsFromFeatures":
        return self.fit_in_stages(data)

    def fit_in_stages(
        self, data: InteractionData, stages: Sequence[int] = (), after: Callable[[int], bool] | None = None,
    ) -> "NewItemsFromFeatures":
        """:meth:`fit`, with the inner model's staged fit when it has one (LightFM)."""
        if data.item_features is None:
            raise ValueError("new items can only be placed by a model with item features")
        seen = np.flatnonzero(np.asarray((data.interactions > 0).sum(axis=0)).ravel() > 0)
        self.full_item_features_ = data.item_features.tocsr()
        sub = InteractionData(
            data.user_ids, [data.item_ids[i] for i in seen], data.interactions[:, seen].tocsr(),
            data.user_features, data.user_feature_names, self.full_item_features_[seen],
            data.item_feature_names, None if data.item_embeddings is None else data.item_embeddings[seen],
            data.cluster_centroids,
        )
        staged = getattr(self.inner, "fit_in_stages", None)
        if staged is not None:
            staged(sub, stages, after)
        else:
            self.inner.fit(sub)
        return self

    def item_vectors(self) -> np.ndarray:
        rows = self.inner.item_feature_vectors()
        assert rows is not None
        return np.asarray(self.full_item_features_ @ rows, dtype=np.float32)

    def user_vectors(self) -> np.ndarray:
        return self.inner.user_vectors()

    def user_feature_vectors(self) -> np.ndarray | None:
        return self.inner.user_feature_vectors()

    def item_feature_vectors(self) -> np.ndarray | None:
        return self.inner.item_feature_vectors()
