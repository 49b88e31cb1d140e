"""Solace's own event log and catalog as workbench data, so ``evaluate`` and ``tune`` (and
``train --config``) run every configuration on them as on files."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from core.events import TimeWindow
from storage.registry import STORE_DATA_SOURCE
from training.data_io import WorkbenchData, timestamp_matrix
from training.dataset import ITEM_IDENTITY_PREFIX, USER_IDENTITY_PREFIX
from training.pipeline import build_store_dataset, store_interactions


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
