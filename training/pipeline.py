"""Training on Solace's own data: the event log, user profiles and the approved catalog.

This is what ``solace train`` and the quick start run: build the dataset, evaluate on a
seeded holdout, refit on everything, and save a model version with its manifest.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import scipy.sparse as sp
from sqlalchemy import Engine

from content_catalog.store import CatalogStore
from core.events import DEFAULT_EVENT_WEIGHTS, TimeWindow
from core.ids import user_key
from recommender.features import (
    embedding_clusters,
    item_feature_lists,
    user_feature_lists,
)
from recommender.foldin import log_popularity
from storage.embeddings import EmbeddingStore
from storage.events import EventStore
from storage.profiles import ProfileStore
from storage.registry import ModelRegistry, ModelVersion, fingerprint
from training.dataset import (
    ITEM_IDENTITY_PREFIX,
    USER_IDENTITY_PREFIX,
    Interaction,
    InteractionData,
    aggregate_events,
    feature_matrix,
    interaction_matrix,
)
from training.evaluate import evaluate_model
from training.models import Recommender, check_params, make_algorithm, with_run_settings
from training.splits import random_split

log = logging.getLogger("solace.training")

# The window of event times training uses when its caller gives none: the defaults of
# SOLACE_EVENT_EARLIEST and SOLACE_EVENT_MAX_FUTURE_SECONDS, what the API accepts.
DEFAULT_EVENT_EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
DEFAULT_EVENT_MAX_FUTURE_SECONDS = 86400
# how many skipped event ids a warning lists before it only counts them
_NAMED_SKIPS = 20


def default_event_window() -> TimeWindow:
    return TimeWindow.bounds(DEFAULT_EVENT_EARLIEST, DEFAULT_EVENT_MAX_FUTURE_SECONDS)


def store_interactions(
    engine: Engine,
    event_weights: dict[str, float] | None = None,
    half_life_days: float | None = None,
    window: TimeWindow | None = None,
) -> list[Interaction]:
    """Every tenant's events as one interaction per (tenant-scoped user, resource), each
    with its latest event time (see :func:`aggregate_events`).

    Only events dated inside ``window`` (default: the API's default window) are used. The
    API refuses anything else, but a row written straight into SQL, or by an older
    Solace, may be dated in year 1 (the driver cannot read it, or its time cannot be
    converted) or in 9999 (it would be "newest" and decay every real event away). One such
    row must not stop every tenant's training: it is skipped, and a warning names it by
    tenant and event id, never by user id.
    """
    window = window or default_event_window()
    store = EventStore(engine)
    skipped = store.ids_outside(window)
    if skipped:
        named = ", ".join(f"{tenant}/{event_id}" for tenant, event_id in skipped[:_NAMED_SKIPS])
        more = f" and {len(skipped) - _NAMED_SKIPS} more" if len(skipped) > _NAMED_SKIPS else ""
        log.warning(
            "skipped %d stored events dated outside %s .. %s, or not dated at all (tenant/event id: %s%s); "
            "correct or delete them in the events table", len(skipped), window.earliest.isoformat(),
            window.latest.isoformat(), named, more)
    return aggregate_events(
        ((user_key(t, e.user_id), e.resource_id, e.type, e.timestamp) for t, e in store.iter_events(window=window)),
        event_weights or DEFAULT_EVENT_WEIGHTS,
        half_life_days,
    )


def build_store_dataset(
    engine: Engine,
    embedding_model: str,
    n_clusters: int = 24,
    random_state: int = 42,
    event_weights: dict[str, float] | None = None,
    interactions: list[Interaction] | None = None,
    window: TimeWindow | None = None,
) -> InteractionData:
    """Dataset of every tenant's events over the servable catalog (``interactions``: the
    already aggregated events, when the caller also needs their times; ``window``: the
    event times to use, see :func:`store_interactions`)."""
    catalog = CatalogStore(engine).servable()
    if not catalog:
        raise ValueError("the catalog has no approved resources: import and approve some first")
    item_ids = [r.id for r in catalog]
    try:
        embeddings = EmbeddingStore(engine).matrix(embedding_model, item_ids)
    except KeyError as exc:
        raise ValueError(f"{exc.args[0]}: run `solace embed` first") from None
    if interactions is None:
        interactions = store_interactions(engine, event_weights, window=window)
    profiles = {user_key(t, u): p for (t, u), p in ProfileStore(engine).all().items()}
    user_ids = sorted({i.user for i in interactions} | set(profiles))
    clusters, centroids = embedding_clusters(embeddings, n_clusters, random_state)
    item_features, item_names = feature_matrix(
        item_ids, item_feature_lists(catalog, clusters), identity_prefix=ITEM_IDENTITY_PREFIX
    )
    user_features, user_names = feature_matrix(
        user_ids, user_feature_lists(profiles), identity_prefix=USER_IDENTITY_PREFIX
    )
    return InteractionData(
        user_ids=user_ids,
        item_ids=item_ids,
        interactions=interaction_matrix(interactions, user_ids, item_ids),
        user_features=user_features,
        user_feature_names=user_names,
        item_features=item_features,
        item_feature_names=item_names,
        item_embeddings=embeddings,
        cluster_centroids=centroids,
    )


def embedding_manifest(model_name: str, embeddings: np.ndarray | None) -> dict[str, Any]:
    """What a version records of the text embeddings it was trained with, whatever the data
    source, so a vector can be matched to the model that made it (nothing if none)."""
    if embeddings is None:
        return {}
    return {"embedding_model": model_name, "embedding_dim": int(embeddings.shape[1])}


def algorithm_params(name: str, params: dict[str, Any], random_state: int, threads: int) -> dict[str, Any]:
    """Add the seed and thread count where the algorithm takes them; every parameter is
    checked and coerced by the algorithm's parameter model (``ParamError`` otherwise)."""
    return check_params(name, with_run_settings(name, params, random_state, threads))


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


def train_and_register(
    data: InteractionData,
    algorithm: str,
    params: dict[str, Any],
    registry: ModelRegistry,
    random_state: int = 42,
    threads: int = 1,
    k: int = 10,
    test_share: float = 0.2,
    extra: dict[str, Any] | None = None,
    progress: Callable[[str], None] | None = None,
    model_factory: Callable[[], Recommender] | None = None,
    holdout: Holdout | None = None,
) -> TrainOutcome:
    """Evaluate on a holdout, refit on all data, save the version.

    ``model_factory`` builds a fresh, unfitted model (a named workbench configuration,
    blends included) so that what is trained here is exactly what ``solace evaluate``
    measured; without it the model is ``make_algorithm(algorithm, **params)``. The holdout
    is a seeded per-user random ``test_share`` unless ``holdout`` gives one (a time split,
    or MovieLens' ``ua.base``/``ua.test``), and the manifest says which it was, so that a
    version's metrics can be read next to ``solace evaluate``'s.
    """
    say = progress or (lambda _m: None)
    if model_factory is None:
        full_params = algorithm_params(algorithm, params, random_state, threads)

        def model_factory() -> Recommender:
            return make_algorithm(algorithm, **full_params)
    else:
        full_params = model_factory().get_params()
    metrics: dict[str, float] = {}
    if holdout is None:
        holdout = Holdout("random", *random_split(data.interactions, test_share, random_state),
                          f"{test_share:.0%} of each user's interactions held out (seed {random_state})")
    extra = {**(extra or {}), "holdout": {"split": holdout.name, "note": holdout.note,
                                          "test_interactions": int(holdout.test.nnz)}}
    if data.interactions.nnz:
        train, test = holdout.train, holdout.test
        if test.nnz:
            say(f"evaluating {algorithm} on the {holdout.name} holdout: {holdout.note}")
            probe = model_factory().fit(data.with_interactions(train))
            measured = evaluate_model(probe, train, test, k=k, item_embeddings=data.item_embeddings)
            # a metric that cannot be computed on this holdout (AUC with no negatives...) is left out
            metrics = {name: value for name, value in measured.items() if np.isfinite(value)}
        else:
            say(f"no holdout metrics: no user has enough interactions to hold out {int(test_share * 100)}%")
    say(f"training {algorithm} on all {data.interactions.nnz} interactions")
    model = model_factory().fit(data)
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
        extra = {**(extra or {}), **notes}
    parts = model.foldin_parts()
    if parts:
        extra = {**(extra or {}), "foldin_parts": [p.to_json() for p in parts]}
    version = registry.save(algorithm, full_params, arrays, ids, metrics, data_fp, extra)
    return TrainOutcome(version, model, metrics)
