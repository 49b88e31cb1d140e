"""implicit's ALS and BPR on the confidence matrix."""

from __future__ import annotations

import os
from typing import Any, Self

import numpy as np

from training.dataset import InteractionData
from training.models.base import Recommender

# OpenBLAS threads fight implicit's own threads; implicit warns without this.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def _dense(array: Any) -> np.ndarray:
    return np.asarray(array.to_numpy() if hasattr(array, "to_numpy") else array, dtype=np.float32)


class ImplicitALS(Recommender):
    """Weighted ALS (Hu, Koren, Volinsky); confidences are ``alpha * weight``."""

    name = "als"

    def __init__(
        self, factors: int = 32, regularization: float = 0.05, alpha: float = 1.0,
        iterations: int = 15, random_state: int = 42, threads: int = 1,
    ) -> None:
        self.factors = factors
        self.regularization = regularization
        self.alpha = alpha
        self.iterations = iterations
        self.random_state = random_state
        self.threads = threads

    def get_params(self) -> dict[str, Any]:
        return {
            "factors": self.factors, "regularization": self.regularization, "alpha": self.alpha,
            "iterations": self.iterations, "random_state": self.random_state,
            "threads": self.threads,
        }

    def fit(self, data: InteractionData) -> Self:
        from implicit.cpu.als import AlternatingLeastSquares

        self.model_ = AlternatingLeastSquares(
            factors=self.factors, regularization=self.regularization, alpha=self.alpha,
            iterations=self.iterations, random_state=self.random_state,
            num_threads=self.threads, calculate_training_loss=False,
        )
        self.model_.fit(data.interactions.astype(np.float32).tocsr(), show_progress=False)
        return self

    def item_vectors(self) -> np.ndarray:
        return _dense(self.model_.item_factors)

    def user_vectors(self) -> np.ndarray:
        return _dense(self.model_.user_factors)


class ImplicitBPR(Recommender):
    """Bayesian personalised ranking; implicit keeps the item bias as the last factor."""

    name = "bpr"

    def __init__(
        self, factors: int = 64, learning_rate: float = 0.05, regularization: float = 0.01,
        iterations: int = 100, random_state: int = 42, threads: int = 1,
    ) -> None:
        self.factors = factors
        self.learning_rate = learning_rate
        self.regularization = regularization
        self.iterations = iterations
        self.random_state = random_state
        self.threads = threads

    def get_params(self) -> dict[str, Any]:
        return {
            "factors": self.factors, "learning_rate": self.learning_rate,
            "regularization": self.regularization, "iterations": self.iterations,
            "random_state": self.random_state, "threads": self.threads,
        }

    def fit(self, data: InteractionData) -> Self:
        from implicit.cpu.bpr import BayesianPersonalizedRanking

        self.model_ = BayesianPersonalizedRanking(
            factors=self.factors, learning_rate=self.learning_rate,
            regularization=self.regularization, iterations=self.iterations,
            random_state=self.random_state, num_threads=self.threads,
        )
        binary = data.interactions.tocsr().astype(np.float32)
        binary.data[:] = 1.0
        self.model_.fit(binary, show_progress=False)
        return self

    def item_vectors(self) -> np.ndarray:
        return _dense(self.model_.item_factors)

    def user_vectors(self) -> np.ndarray:
        return _dense(self.model_.user_factors)
