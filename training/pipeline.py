"""The one training path: every model version Solace saves is trained here.

``solace train`` (plain, ``--config`` or ``--auto``), the quick start and the jobs all call
:func:`train_version` with a :class:`Candidate`: what to train, which builds its own
dataset (a configuration's feature recipe) and its own unfitted model. ``solace evaluate``
and ``tune`` build data and models through the same two calls
(:func:`training.recipes.config_data`, :func:`training.configs.model_for`), so a version's
holdout figures are what ``evaluate`` would print for the same configuration and split.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import scipy.sparse as sp

from recommender.foldin import log_popularity
from storage.registry import ModelRegistry, ModelVersion, fingerprint
from training.configs import ModelConfig, model_for
from training.data_io import WorkbenchData
from training.dataset import InteractionData
from training.evaluate import evaluate_model
from training.models import Recommender
from training.recipes import config_data
from training.splits import random_split

# algorithms that can be fitted with no interaction at all (a new deployment's first model)
NEEDS_NO_INTERACTIONS = ("content", "popularity")


class Candidate(Protocol):
    """What one training trains: the algorithm it records, its dataset (its own feature
    recipe over a given interaction matrix) and a fresh, unfitted model."""

    @property
    def algorithm(self) -> str: ...

    def data(self, wb: WorkbenchData, train: sp.csr_matrix, random_state: int) -> InteractionData: ...

    def build(self, random_state: int, threads: int) -> Recommender: ...


@dataclass(frozen=True)
class ConfigCandidate:
    """A named configuration (``solace evaluate --list-configs``) as a :class:`Candidate`."""

    config: ModelConfig

    @property
    def algorithm(self) -> str:
        return self.config.algorithm

    def data(self, wb: WorkbenchData, train: sp.csr_matrix, random_state: int) -> InteractionData:
        return config_data(wb, self.config, train, random_state)

    def build(self, random_state: int, threads: int) -> Recommender:
        return model_for(self.config, random_state, threads)


def embedding_manifest(model_name: str, embeddings: np.ndarray | None) -> dict[str, Any]:
    """What a version records of the text embeddings it was trained with, whatever the data
    source, so a vector can be matched to the model that made it (nothing if none)."""
    if embeddings is None:
        return {}
    return {"embedding_model": model_name, "embedding_dim": int(embeddings.shape[1])}


@dataclass
class Holdout:
    """The train/test matrices a version's metrics are measured on, and how they were made."""

    name: str
    train: sp.csr_matrix
    test: sp.csr_matrix
    note: str


@dataclass
class TrainOutcome:
    version: ModelVersion
    model: Recommender
    metrics: dict[str, float]


def train_version(
    wb: WorkbenchData,
    candidate: Candidate,
    registry: ModelRegistry,
    random_state: int = 42,
    threads: int = 1,
    k: int = 10,
    holdout: Holdout | None = None,
    test_share: float = 0.2,
    extra: dict[str, Any] | None = None,
    progress: Callable[[str], None] | None = None,
) -> TrainOutcome:
    """Measure ``candidate`` on a holdout, refit it on all of ``wb``, save the version.

    The holdout is a seeded per-user random ``test_share`` unless ``holdout`` gives one (a
    time split, or MovieLens' ``ua.base``/``ua.test``); the probe model is built from the
    holdout's training part only, features included, as ``solace evaluate`` builds it,
    and the manifest says which holdout it was. Raises ValueError for data the algorithm
    cannot learn from (no interactions yet).
    """
    say = progress or (lambda _m: None)
    algorithm = candidate.algorithm
    data = candidate.data(wb, wb.data.interactions, random_state)
    if data.interactions.nnz == 0 and algorithm not in NEEDS_NO_INTERACTIONS:
        raise ValueError(
            f"no interactions to learn {algorithm} from yet: train --algorithm content "
            "(or popularity) until platforms have sent events"
        )
    metrics: dict[str, float] = {}
    if holdout is None:
        holdout = Holdout("random", *random_split(data.interactions, test_share, random_state),
                          f"{test_share:.0%} of each user's interactions held out (seed {random_state})")
    extra = {**(extra or {}), "holdout": {"split": holdout.name, "note": holdout.note,
                                          "test_interactions": int(holdout.test.nnz)}}
    if data.interactions.nnz:
        if holdout.test.nnz:
            say(f"evaluating {algorithm} on the {holdout.name} holdout: {holdout.note}")
            probe = candidate.build(random_state, threads).fit(candidate.data(wb, holdout.train, random_state))
            measured = evaluate_model(probe, holdout.train, holdout.test, k=k, item_embeddings=data.item_embeddings)
            # a metric that cannot be computed on this holdout (AUC with no negatives...) is left out
            metrics = {name: value for name, value in measured.items() if np.isfinite(value)}
        else:
            say(f"no holdout metrics: no user has enough interactions to hold out {int(test_share * 100)}%")
    say(f"training {algorithm} on all {data.interactions.nnz} interactions")
    model = candidate.build(random_state, threads)
    params = model.get_params()
    model.fit(data)
    return _register(data, algorithm, params, model, metrics, registry, extra)


def _register(
    data: InteractionData, algorithm: str, params: dict[str, Any], model: Recommender, metrics: dict[str, float],
    registry: ModelRegistry, extra: dict[str, Any],
) -> TrainOutcome:
    # the same function EASE chooses its basis with: serving derives that basis from this array
    popularity = log_popularity(data.interactions)
    arrays = {
        "item_vectors": model.item_vectors(),
        "user_vectors": model.user_vectors(),
        "user_feature_vectors": model.user_feature_vectors(),
        "item_feature_vectors": model.item_feature_vectors(),
        "item_embeddings": data.item_embeddings,
        "popularity": popularity,
        "cluster_centroids": data.cluster_centroids,
    }
    ids = {
        "users": data.user_ids,
        "items": data.item_ids,
        "user_features": data.user_feature_names,
        "item_features": data.item_feature_names,
    }
    data_fp = fingerprint(data.user_ids, data.item_ids, data.interactions.data, data.interactions.indices)
    notes = model.training_notes()
    if notes:  # e.g. the Spark engine's own parameters (training.models.spark_als)
        extra = {**extra, **notes}
    parts = model.foldin_parts()
    if parts:
        extra = {**extra, "foldin_parts": [p.to_json() for p in parts]}
    version = registry.save(algorithm, params, arrays, ids, metrics, data_fp, extra)
    return TrainOutcome(version, model, metrics)
