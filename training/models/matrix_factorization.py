"""implicit's ALS and BPR on the confidence matrix."""

from __future__ import annotations

import os
from typing import Any, Literal, Self, get_args

import numpy as np
import scipy.sparse as sp
from pydantic import Field

from training.dataset import USER_IDENTITY_PREFIX, InteractionData
from training.models.base import Recommender
from training.models.params import AlgorithmParams

# OpenBLAS threads fight implicit's own threads; implicit warns without this.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def _dense(array: Any) -> np.ndarray:
    return np.asarray(array.to_numpy() if hasattr(array, "to_numpy") else array, dtype=np.float32)


Weighting = Literal["none", "bm25", "bm25-users", "tfidf"]
WEIGHTINGS: tuple[str, ...] = get_args(Weighting)


def confidence_weighting(matrix: sp.csr_matrix, weighting: str = "none", k1: float = 100.0,
                         b: float = 0.8) -> sp.csr_matrix:
    """Reweight a users x items confidence matrix before ALS, as implicit's examples do.

    ``bm25`` and ``tfidf`` treat items as documents and users as terms (implicit's
    convention: ``bm25_weight`` on the item-user matrix), so a very popular item's
    interactions weigh less and a user with few interactions counts more; ``bm25-users``
    treats users as documents instead. ``none`` returns the matrix unchanged. Zero and
    negative weights (implicit's IDF of a term found almost everywhere) are raised to the
    smallest positive weight, so every positive stays a positive.
    """
    if weighting not in WEIGHTINGS:
        raise ValueError(f"unknown weighting {weighting!r}; choose from {', '.join(WEIGHTINGS)}")
    matrix = sp.csr_matrix(matrix, dtype=np.float32)
    if weighting == "none":
        return matrix
    from implicit.nearest_neighbours import bm25_weight, tfidf_weight

    if weighting == "bm25-users":
        out = sp.csr_matrix(bm25_weight(matrix, K1=k1, B=b), dtype=np.float32)
    else:
        items_users = matrix.T.tocsr()
        weighted = bm25_weight(items_users, K1=k1, B=b) if weighting == "bm25" else tfidf_weight(items_users)
        out = sp.csr_matrix(weighted.T, dtype=np.float32)
    # implicit's IDF, log(N) - log(1 + df), is zero or negative for a term in (almost) every
    # document; a positive must stay a positive, so it keeps the smallest positive confidence
    positive = out.data[out.data > 0]
    floor = float(positive.min()) if len(positive) else 1.0
    out.data = np.maximum(out.data, floor).astype(np.float32)
    return out


def user_feature_columns(data: InteractionData, weight: float) -> sp.csr_matrix | None:
    """The users' side features (identity columns left out) as extra ALS columns.

    Each feature becomes a pseudo-item that its users "interacted with" at confidence
    ``weight`` (feature values are scaled so the largest is 1). Users who share an age
    band or an occupation then share a column, which pulls their factors together: a
    prior from demographics that pure ALS cannot use (collective matrix factorisation).
    """
    if weight <= 0 or data.user_features is None:
        return None
    keep = [j for j, name in enumerate(data.user_feature_names) if not str(name).startswith(USER_IDENTITY_PREFIX)]
    if not keep:
        return None
    block = sp.csr_matrix(data.user_features, dtype=np.float32)[:, keep]
    block.data = np.abs(block.data)
    block.eliminate_zeros()
    if block.nnz == 0:
        return None
    return (block * (weight / float(block.data.max()))).tocsr()


class ALSParams(AlgorithmParams):
    """:class:`ImplicitALS`'s parameters; implicit itself checks none of these ranges."""

    algorithm = "als"

    factors: int = Field(32, ge=1)
    regularization: float = Field(0.05, ge=0)
    alpha: float = Field(1.0, gt=0)
    iterations: int = Field(15, ge=1)
    random_state: int = Field(42, ge=0)  # numpy seeds are never negative
    threads: int = Field(1, ge=1)
    weighting: Weighting = "none"
    bm25_k1: float = Field(100.0, ge=0)
    bm25_b: float = Field(0.8, ge=0, le=1)
    user_feature_weight: float = Field(0.0, ge=0)
    binary: bool = False


class BPRParams(AlgorithmParams):
    """:class:`ImplicitBPR`'s parameters."""

    algorithm = "bpr"

    factors: int = Field(64, ge=1)
    learning_rate: float = Field(0.05, gt=0)
    regularization: float = Field(0.01, ge=0)
    iterations: int = Field(100, ge=1)
    random_state: int = Field(42, ge=0)  # numpy seeds are never negative
    threads: int = Field(1, ge=1)


class ImplicitALS(Recommender):
    """Weighted ALS (Hu, Koren, Volinsky); confidences are ``alpha * weight``, where the
    weights may first be reweighted by BM25 or TF-IDF (``weighting``; default none).

    ``user_feature_weight`` > 0 appends the users' side features as pseudo-item columns
    (:func:`user_feature_columns`); the item matrix keeps the real items only. Serving's
    fold-in re-solves a user from their interactions alone, so a folded-in vector loses
    that prior until the next training run.
    """

    name = "als"
    params_model = ALSParams

    def __init__(
        self, factors: int = 32, regularization: float = 0.05, alpha: float = 1.0,
        iterations: int = 15, random_state: int = 42, threads: int = 1,
        weighting: Weighting = "none", bm25_k1: float = 100.0, bm25_b: float = 0.8,
        user_feature_weight: float = 0.0, binary: bool = False,
    ) -> None:
        if weighting not in WEIGHTINGS:
            raise ValueError(f"unknown weighting {weighting!r}; choose from {', '.join(WEIGHTINGS)}")
        if not user_feature_weight >= 0:
            raise ValueError("user_feature_weight must be 0 or more")
        self.user_feature_weight = float(user_feature_weight)
        self.binary = bool(binary)  # every positive at confidence 1 (times alpha), as raw-library scripts fit
        self.factors = factors
        self.regularization = regularization
        self.alpha = alpha
        self.iterations = iterations
        self.random_state = random_state
        self.threads = threads
        self.weighting = weighting
        self.bm25_k1 = bm25_k1
        self.bm25_b = bm25_b

    def get_params(self) -> dict[str, Any]:
        params: dict[str, Any] = {
            "factors": self.factors, "regularization": self.regularization, "alpha": self.alpha,
            "iterations": self.iterations, "random_state": self.random_state,
            "threads": self.threads,
        }
        if self.weighting != "none":  # manifests of unweighted models stay as they were
            params.update(weighting=self.weighting, bm25_k1=self.bm25_k1, bm25_b=self.bm25_b)
        if self.user_feature_weight:
            params["user_feature_weight"] = self.user_feature_weight
        if self.binary:
            params["binary"] = True
        return params

    def fit(self, data: InteractionData) -> Self:
        from implicit.cpu.als import AlternatingLeastSquares

        self.model_ = AlternatingLeastSquares(
            factors=self.factors, regularization=self.regularization, alpha=self.alpha,
            iterations=self.iterations, random_state=self.random_state,
            num_threads=self.threads, calculate_training_loss=False,
        )
        interactions = data.interactions
        if self.binary:
            interactions = sp.csr_matrix(interactions, dtype=np.float32, copy=True)
            interactions.data = (interactions.data > 0).astype(np.float32)
            interactions.eliminate_zeros()
        confidences = confidence_weighting(interactions, self.weighting, self.bm25_k1, self.bm25_b)
        self.n_items_ = confidences.shape[1]
        extra = user_feature_columns(data, self.user_feature_weight)
        if extra is not None:
            confidences = sp.hstack([confidences, extra]).tocsr().astype(np.float32)
        self.model_.fit(confidences, show_progress=False)
        return self

    def item_vectors(self) -> np.ndarray:
        return _dense(self.model_.item_factors)[: self.n_items_]

    def user_vectors(self) -> np.ndarray:
        return _dense(self.model_.user_factors)


class ImplicitBPR(Recommender):
    """Bayesian personalised ranking; implicit keeps the item bias as the last factor."""

    name = "bpr"
    params_model = BPRParams

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
