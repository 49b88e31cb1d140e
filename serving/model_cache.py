"""What a worker holds in memory: the active model's item matrix and metadata, and the
servable catalog aligned to it.

Reloaded when Redis says the active model or the catalog changed, without a restart. If
Redis goes away, the worker keeps answering from what it holds (flagged as degraded).
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import redis

from recommender.catalog_view import CatalogView
from solace.keyspace import Keyspace


@dataclass
class LoadedModel:
    version: str
    algorithm: str
    item_ids: list[str]
    item_index: dict[str, int]
    item_matrix: np.ndarray
    embeddings: np.ndarray | None
    popularity: np.ndarray
    user_feature_index: dict[str, int]
    user_feature_vectors: np.ndarray | None
    embedding_model: str | None
    user_norm: float = 1.0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def dim(self) -> int:
        return int(self.item_matrix.shape[1])


def _load_model(client: redis.Redis, keys: Keyspace, version: str) -> LoadedModel | None:
    pipe = client.pipeline(transaction=False)
    pipe.get(keys.model_meta(version))
    pipe.get(keys.model_items(version))
    pipe.get(keys.model_embeddings(version))
    pipe.get(keys.model_features(version))
    raw_meta, raw_items, raw_emb, raw_feats = pipe.execute()
    if raw_meta is None or raw_items is None:
        return None
    meta = json.loads(raw_meta)
    n = len(meta["item_ids"])
    items = np.frombuffer(raw_items, dtype=np.float32).reshape(n, meta["dim"]).copy()
    emb = None
    if raw_emb is not None and meta.get("embedding_dim"):
        emb = np.frombuffer(raw_emb, dtype=np.float32).reshape(n, meta["embedding_dim"]).copy()
        norms = np.linalg.norm(emb, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        emb /= norms
    feats = None
    names = meta.get("user_features", [])
    if raw_feats is not None and names:
        feats = np.frombuffer(raw_feats, dtype=np.float32).reshape(len(names), meta["dim"]).copy()
    return LoadedModel(
        version=version, algorithm=meta["algorithm"], item_ids=meta["item_ids"],
        item_index={i: n for n, i in enumerate(meta["item_ids"])},
        item_matrix=np.ascontiguousarray(items), embeddings=emb,
        popularity=np.asarray(meta.get("popularity", [0.0] * n), dtype=np.float32),
        user_feature_index={name: n for n, name in enumerate(names)},
        user_feature_vectors=feats, embedding_model=meta.get("embedding_model"),
        user_norm=float(meta.get("user_norm", 1.0)),
    )


class ServingCache:
    """The worker's model and catalog view, refreshed from versions read per request."""

    def __init__(self, client: redis.Redis, keys: Keyspace) -> None:
        self.client = client
        self.keys = keys
        self._lock = threading.Lock()
        self.model: LoadedModel | None = None
        self.catalog_version: int | None = None
        self.cards: dict[str, dict[str, Any]] = {}
        self.view: CatalogView | None = None
        self.degraded = False
        self.last_ok = 0.0

    def refresh(self, active: bytes | None, catalog_version: bytes | None) -> None:
        """Reload whatever changed; the caller has read both versions in its own pipeline."""
        version = active.decode() if active else None
        cat_v = int(catalog_version) if catalog_version else 0
        model_changed = version is not None and (self.model is None or self.model.version != version)
        catalog_changed = cat_v != self.catalog_version
        if not (model_changed or catalog_changed):
            return
        with self._lock:
            if model_changed:
                loaded = _load_model(self.client, self.keys, version)  # type: ignore[arg-type]
                if loaded is not None:
                    self.model = loaded
            if catalog_changed:
                raw = self.client.hgetall(self.keys.catalog_items)
                self.cards = {k.decode(): json.loads(v) for k, v in raw.items()}
                self.catalog_version = cat_v
            if self.model is not None:
                self.view = CatalogView.build(self.model.item_ids, self.cards)

    def check(self) -> None:
        """Read versions and refresh (used by readiness and by endpoints without user state)."""
        pipe = self.client.pipeline(transaction=False)
        pipe.get(self.keys.active_model)
        pipe.get(self.keys.catalog_version)
        active, cat_v = pipe.execute()
        self.refresh(active, cat_v)
        self.mark_ok()

    def mark_ok(self) -> None:
        self.degraded = False
        self.last_ok = time.monotonic()

    def mark_degraded(self) -> None:
        self.degraded = True
