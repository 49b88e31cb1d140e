"""Solace's own event log, profiles and catalog as training data: the dataset every
`solace train` on the store, the quick start, ``evaluate`` and ``tune`` read (the
configurations' recipes are applied on top, as on files)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine

from content_catalog.store import CatalogStore
from core.events import DEFAULT_EVENT_WEIGHTS, TimeWindow
from core.ids import user_key
from recommender.features import embedding_clusters, item_feature_lists, user_feature_lists
from storage.embeddings import EmbeddingStore
from storage.events import EventStore
from storage.profiles import ProfileStore
from storage.registry import STORE_DATA_SOURCE
from training.data_io import WorkbenchData, timestamp_matrix
from training.dataset import (
    ITEM_IDENTITY_PREFIX,
    USER_IDENTITY_PREFIX,
    Interaction,
    InteractionData,
    aggregate_events,
    feature_matrix,
    interaction_matrix,
)

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


def _feature_lists(matrix: Any, names: list[str], ids: list[str], prefix: str) -> dict[str, list[tuple[str, float]]]:
    """Each entity's (feature, weight) pairs read back from a feature matrix, without the
    identity columns (named with ``prefix``)."""
    out: dict[str, list[tuple[str, float]]] = {}
    if matrix is None:
        return out
    csr = matrix.tocsr()
    for r, entity in enumerate(ids):
        cols = csr.indices[csr.indptr[r]:csr.indptr[r + 1]]
        vals = csr.data[csr.indptr[r]:csr.indptr[r + 1]]
        feats = [(names[c], float(v)) for c, v in zip(cols, vals) if not names[c].startswith(prefix)]
        if feats:
            out[entity] = feats
    return out


def store_workbench_data(
    engine: Engine, embedding_model: str, random_state: int, window: TimeWindow,
    weights: dict[str, float] | None = None, half_life_days: float | None = None,
) -> WorkbenchData:
    """The event log and catalog, with the raw feature lists recovered by name (identity
    columns dropped) so every configuration's recipe can be applied, and each pair's
    latest event time so the ``time`` split works on the event log too. Only events dated
    inside ``window`` are read (a stored row outside it is skipped and named). Raises
    ValueError when the store cannot give a dataset (no approved resources, no embeddings)."""
    interactions = store_interactions(engine, weights, half_life_days, window=window)
    data = build_store_dataset(engine, embedding_model, random_state=random_state, interactions=interactions)
    stamps = {(i.user, i.item): i.timestamp.timestamp() for i in interactions if i.timestamp is not None}
    return WorkbenchData(
        data,
        _feature_lists(data.item_features, data.item_feature_names, data.item_ids, ITEM_IDENTITY_PREFIX),
        _feature_lists(data.user_features, data.user_feature_names, data.user_ids, USER_IDENTITY_PREFIX),
        timestamps=timestamp_matrix(stamps, data.user_ids, data.item_ids, data.interactions),
        source=STORE_DATA_SOURCE,
    )
