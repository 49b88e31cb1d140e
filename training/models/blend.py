"""A blend of several models' scores that is still one dot product.

Serving folds a new user into a blend part by part (``recommender.foldin.BlendFoldIn``,
which serving can reach and this module cannot be): each part records at fit time, as a
``BlendPart``, exactly what that fold-in needs to mirror this standardisation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from recommender.foldin import BlendPart, centre_items, foldin_settings, score_spread, typical_user_norm
from training.dataset import InteractionData
from training.models.base import Recommender

class ScoreBlend(Recommender):
    """A weighted sum of several models' scores that is still one dot product.

    Each part's scores are standardised per user before weighting: item vectors are
    centred on the mean vector of the items seen in training, and each user vector is
    divided by the standard deviation of its scores over those items (a per-user shift
    never changes a ranking; a per-user scale is a scaled user vector). The blend's
    vectors are the concatenations ``[w_1 u_1 / sd_1, w_2 u_2 / sd_2...]`` and
    ``[v_1 - mean_1, v_2 - mean_2...]``, so serving, evaluation and publishing see an
    ordinary user and item matrix. Both steps are ``recommender.foldin``'s
    (``centre_items``, ``score_spread``), which serving's fold-in runs too.
    """

    name = "blend"

    def __init__(self, models: Sequence[Recommender], weights: Sequence[float]) -> None:
        if len(models) != len(weights) or not models:
            raise ValueError("a blend needs one weight per model")
        self.models = list(models)
        self.weights = [float(w) for w in weights]

    def get_params(self) -> dict[str, Any]:
        return {"weights": self.weights,
                "parts": [{"algorithm": m.name, **m.get_params()} for m in self.models]}

    def fit(self, data: InteractionData) -> "ScoreBlend":
        seen = np.asarray((data.interactions > 0).sum(axis=0)).ravel() > 0
        if not seen.any():
            raise ValueError("a blend needs at least one training interaction")
        users, items = [], []
        self.parts_: list[BlendPart] = []
        for model, weight in zip(self.models, self.weights):
            model.fit(data)
            u = np.asarray(model.user_vectors(), dtype=np.float64)
            v, mean = centre_items(model.item_vectors(), seen, place_unseen=model.item_feature_vectors() is not None)
            sd = score_spread(u, v[seen])
            users.append(u * (weight / sd)[:, None])
            items.append(v)
            self.parts_.append(BlendPart(
                model.name, v.shape[1], weight, mean, typical_user_norm(u, model.name),
                **foldin_settings(model.name, model.get_params()),
            ))
        self.user_vectors_ = np.hstack(users).astype(np.float32)
        self.item_vectors_ = np.hstack(items).astype(np.float32)
        return self

    def item_vectors(self) -> np.ndarray:
        return self.item_vectors_

    def user_vectors(self) -> np.ndarray:
        return self.user_vectors_

    def foldin_parts(self) -> list[Any] | None:
        return list(self.parts_)
