"""LightFM hybrid matrix factorisation with user and item features."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal, Self

import numpy as np
import scipy.sparse as sp
from pydantic import Field

from training.dataset import InteractionData
from training.models.base import Recommender
from training.models.params import AlgorithmParams

Loss = Literal["warp", "bpr", "warp-kos", "logistic"]

# Solace's LightFM, written once: the class's defaults, what plain `solace train` records in
# a manifest, and the `lightfm` configuration of `solace evaluate`.
LIGHTFM_DEFAULTS: dict[str, Any] = {
    "no_components": 32, "loss": "warp", "learning_rate": 0.05, "epochs": 40, "max_sampled": 20,
}


class LightFMParams(AlgorithmParams):
    """:class:`LightFMHybrid`'s parameters and what LightFM accepts for each (it asserts
    on most of them, with an empty message, only once fitting starts)."""

    algorithm = "lightfm"

    no_components: int = Field(LIGHTFM_DEFAULTS["no_components"], ge=1)
    loss: Loss = LIGHTFM_DEFAULTS["loss"]
    learning_rate: float = Field(LIGHTFM_DEFAULTS["learning_rate"], gt=0)
    epochs: int = Field(LIGHTFM_DEFAULTS["epochs"], ge=1)
    item_alpha: float = Field(0.0, ge=0)
    user_alpha: float = Field(0.0, ge=0)
    max_sampled: int = Field(LIGHTFM_DEFAULTS["max_sampled"], ge=1)
    use_user_features: bool = True
    use_item_features: bool = True
    binary: bool = True
    random_state: int = Field(42, ge=0)  # numpy seeds are never negative
    threads: int = Field(1, ge=1)


class LightFMHybrid(Recommender):
    """Wraps ``lightfm.LightFM``; serving vectors are ``[embedding, bias]`` and ``[embedding, 1]``.

    The bias column folds LightFM's item bias into the dot product, so ranking by
    ``user_vector @ item_matrix.T`` is exactly LightFM's ``predict`` order.
    """

    name = "lightfm"
    params_model = LightFMParams

    def __init__(
        self,
        no_components: int = LIGHTFM_DEFAULTS["no_components"],
        loss: Loss = LIGHTFM_DEFAULTS["loss"],
        learning_rate: float = LIGHTFM_DEFAULTS["learning_rate"],
        epochs: int = LIGHTFM_DEFAULTS["epochs"],
        item_alpha: float = 0.0,
        user_alpha: float = 0.0,
        max_sampled: int = LIGHTFM_DEFAULTS["max_sampled"],
        use_user_features: bool = True,
        use_item_features: bool = True,
        binary: bool = True,
        random_state: int = 42,
        threads: int = 1,
    ) -> None:
        self.no_components = no_components
        self.loss = loss
        self.learning_rate = learning_rate
        self.epochs = epochs
        self.item_alpha = item_alpha
        self.user_alpha = user_alpha
        self.max_sampled = max_sampled
        self.use_user_features = use_user_features
        self.use_item_features = use_item_features
        self.binary = binary
        self.random_state = random_state
        self.threads = threads

    def get_params(self) -> dict[str, Any]:
        return {
            k: getattr(self, k)
            for k in (
                "no_components", "loss", "learning_rate", "epochs", "item_alpha", "user_alpha",
                "max_sampled", "use_user_features", "use_item_features", "binary",
                "random_state", "threads",
            )
        }

    def fit(self, data: InteractionData) -> Self:
        return self.fit_in_stages(data)

    def fit_in_stages(
        self, data: InteractionData, stages: Sequence[int] = (), after: Callable[[int], bool] | None = None,
    ) -> Self:
        """Fit, stopping at each epoch count of ``stages`` (up to ``epochs``) to call
        ``after(epochs_so_far)``; training stops early when it returns False.

        This is how a search stops a LightFM fit on its validation metric: one fit gives the
        scores of 10, 20, 30... epochs, and the epochs past the best are never trained.
        """
        from lightfm import LightFM

        self.model_ = LightFM(
            no_components=self.no_components, loss=self.loss, learning_rate=self.learning_rate,
            item_alpha=self.item_alpha, user_alpha=self.user_alpha,
            max_sampled=self.max_sampled, random_state=self.random_state,
        )
        coo = data.interactions.tocoo()
        positives = sp.coo_matrix(
            (np.ones_like(coo.data), (coo.row, coo.col)), shape=coo.shape, dtype=np.float32
        )
        weights = None
        if not self.binary and self.loss in ("warp", "bpr", "logistic"):
            weights = sp.coo_matrix((coo.data.astype(np.float32), (coo.row, coo.col)), coo.shape)
        self.user_features_ = data.user_features if self.use_user_features else None
        self.item_features_ = data.item_features if self.use_item_features else None
        done = 0
        for target in sorted({*(int(e) for e in stages if 0 < int(e) <= self.epochs)} | {self.epochs}):
            # LightFM's fit is a reset then fit_partial; epochs trained in several calls draw the
            # same random stream as in one, so the staged model is the model of `epochs`
            self.model_.fit_partial(
                positives, user_features=self.user_features_, item_features=self.item_features_,
                sample_weight=weights, epochs=target - done, num_threads=self.threads,
            )
            done = target
            self.epochs_trained_ = done
            if after is not None and not after(done):
                break
        return self

    def item_vectors(self) -> np.ndarray:
        bias, emb = self.model_.get_item_representations(self.item_features_)
        return np.hstack([emb, bias[:, None]]).astype(np.float32)

    def user_vectors(self) -> np.ndarray:
        _bias, emb = self.model_.get_user_representations(self.user_features_)
        return np.hstack([emb, np.ones((emb.shape[0], 1))]).astype(np.float32)

    def user_feature_vectors(self) -> np.ndarray | None:
        emb = self.model_.user_embeddings
        return np.hstack([emb, np.ones((emb.shape[0], 1))]).astype(np.float32)

    def item_feature_vectors(self) -> np.ndarray | None:
        return np.hstack(
            [self.model_.item_embeddings, self.model_.item_biases[:, None]]
        ).astype(np.float32)
