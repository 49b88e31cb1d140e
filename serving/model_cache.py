"""What a worker holds in memory: the active model's item matrix and metadata, and the
servable catalog aligned to it.

Reloaded when Redis says the active model or the catalog changed, without a restart. A
resource approved after the model was trained is appended to the item matrix with a
vector built from its features (the hybrid model's feature embeddings), so it can be
recommended before the next retrain. If Redis goes away, the worker keeps answering from
what it holds (flagged as degraded).
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import redis

from content_catalog.store import CatalogStore

from recommender.catalog_view import CatalogView
from recommender.features import card_features, nearest_cluster, vector_from_features
from recommender.foldin import DEFAULT_REGULARIZATION, BlendFoldIn, BlendPart, FoldIn, HistoryFoldIn, make_foldin
from storage.keyspace import Keyspace
from storage.redis_conn import text
from storage.snapshot import ModelSnapshot


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
    item_feature_index: dict[str, int] = field(default_factory=dict)
    item_feature_vectors: np.ndarray | None = None
    centroids: np.ndarray | None = None
    n_trained_items: int = 0
    user_norm: float | None = None
    foldin_regularization: float = DEFAULT_REGULARIZATION
    foldin_alpha: float = 1.0
    foldin_parts: list[BlendPart] | None = None
    # everything the version published for its fold-in (a history model's basis size too)
    foldin_settings: dict[str, float] = field(default_factory=dict)
    _foldin: FoldIn | BlendFoldIn | HistoryFoldIn | None = None

    @property
    def foldin(self) -> FoldIn | BlendFoldIn | HistoryFoldIn:
        """How a user is folded into this model, prepared on first use per model."""
        if self._foldin is None:
            # a history model's basis is among the trained items: items appended since do not move it
            trained_popularity = self.popularity[: self.n_trained_items or len(self.popularity)]
            if self.foldin_parts:
                self._foldin = BlendFoldIn(self.item_matrix, self.foldin_parts, seen=self.popularity > 0,
                                           popularity=trained_popularity)
            else:
                settings = {**self.foldin_settings, "regularization": self.foldin_regularization,
                            "alpha": self.foldin_alpha}
                self._foldin = make_foldin(self.item_matrix, self.algorithm, settings, trained_popularity,
                                           target_norm=self.user_norm)
        return self._foldin

    @property
    def popular_scores(self) -> np.ndarray:
        """Standardised popularity, the score of the non-personalised list (computed once)."""
        cached = self.__dict__.get("_popular")
        if cached is None:
            sd = float(self.popularity.std()) or 1.0
            cached = ((self.popularity - self.popularity.mean()) / sd).astype(np.float32)
            self.__dict__["_popular"] = cached
        return cached

    @property
    def dim(self) -> int:
        return int(self.item_matrix.shape[1])


def _unit_rows(m: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(m, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return m / norms


def load_model(client: redis.Redis, keys: Keyspace, version: str) -> LoadedModel | None:
    snap = ModelSnapshot.read(client, keys, version)
    return None if snap is None else loaded_from_snapshot(snap)


def loaded_from_snapshot(snap: ModelSnapshot) -> LoadedModel:
    version = snap.version
    return LoadedModel(
        version=version, algorithm=snap.algorithm, item_ids=snap.item_ids,
        item_index={i: k for k, i in enumerate(snap.item_ids)},
        item_matrix=np.ascontiguousarray(snap.item_vectors),
        embeddings=None if snap.item_embeddings is None else _unit_rows(snap.item_embeddings),
        popularity=snap.popularity,
        user_feature_index={name: k for k, name in enumerate(snap.user_feature_names)},
        user_feature_vectors=snap.user_feature_vectors,
        embedding_model=snap.embedding_model,
        item_feature_index={name: k for k, name in enumerate(snap.item_feature_names)},
        item_feature_vectors=snap.item_feature_vectors,
        centroids=snap.centroids,
        n_trained_items=len(snap.item_ids),
        user_norm=snap.user_norm,
        # versions published before the fold-in settings were recorded keep the old defaults
        foldin_regularization=float(snap.foldin.get("regularization", DEFAULT_REGULARIZATION)),
        foldin_alpha=float(snap.foldin.get("alpha", 1.0)),
        foldin_settings={k: float(v) for k, v in snap.foldin.items()},
        foldin_parts=[BlendPart.from_json(p) for p in snap.foldin_parts] if snap.foldin_parts else None,
    )


def extend_with_new_items(
    model: LoadedModel, cards: dict[str, dict[str, Any]], embeddings: dict[str, np.ndarray]
) -> LoadedModel:
    """Append servable resources the model has not seen, with feature-built vectors."""
    if model.item_feature_vectors is None:
        return model
    new_ids, vectors, new_emb = [], [], []
    for rid, card in cards.items():
        if rid in model.item_index:
            continue
        emb = embeddings.get(rid)
        cluster = None
        if emb is not None and model.centroids is not None and emb.shape[0] == model.centroids.shape[1]:
            cluster = nearest_cluster(emb, model.centroids)
        vec = vector_from_features(card_features(card, cluster), model.item_feature_index,
                                   model.item_feature_vectors)
        if vec is None:
            continue
        new_ids.append(rid)
        vectors.append(vec)
        if model.embeddings is not None:
            e = emb if emb is not None and emb.shape[0] == model.embeddings.shape[1] else np.zeros(model.embeddings.shape[1], np.float32)
            new_emb.append(e / (np.linalg.norm(e) or 1.0))
    if not new_ids:
        return model
    item_ids = model.item_ids + new_ids
    return replace(
        model,
        item_ids=item_ids,
        item_index={i: k for k, i in enumerate(item_ids)},
        item_matrix=np.ascontiguousarray(np.vstack([model.item_matrix, np.asarray(vectors, np.float32)])),
        embeddings=None if model.embeddings is None else np.vstack([model.embeddings, np.asarray(new_emb, np.float32)]),
        popularity=np.concatenate([model.popularity, np.full(len(new_ids), float(model.popularity.min(initial=0.0)), np.float32)]),
        _foldin=None,
    )


class ServingCache:
    """The worker's model and catalog view, refreshed from versions read per request."""

    def __init__(self, client: redis.Redis, keys: Keyspace) -> None:
        self.client = client
        self.keys = keys
        self._lock = threading.Lock()
        self.base: LoadedModel | None = None
        # The model and the view aligned to it are swapped together, in one assignment, so
        # a thread never sees a new model with an old view.
        self._pair: tuple[LoadedModel | None, CatalogView | None] = (None, None)
        self.catalog_version: int | None = None
        # (model version, catalog version) the published pair was built from
        self._built: tuple[str | None, int | None] = (None, None)
        self.cards: dict[str, dict[str, Any]] = {}
        self.catalog_embeddings: dict[str, np.ndarray] = {}
        self.degraded = False
        # experiment arms' versions beside the active one: version -> (model, view, catalog version)
        self._arms: dict[str, tuple[LoadedModel, CatalogView, int | None]] = {}

    def refresh(self, active: bytes | None, catalog_version: bytes | None) -> None:
        """Reload whatever changed; the caller has read both versions in its own pipeline.

        The fast path compares with what the published pair was built from (``_built``,
        assigned after the pair), never with fields a reload in another thread sets before
        the pair is ready: a worker's first requests arriving together once saw the new
        version recorded and no pair yet, and answered "no model".
        """
        version = active.decode() if active else None
        cat_v = int(catalog_version) if catalog_version else 0
        if self._current(version, cat_v):
            return
        with self._lock:
            if self._current(version, cat_v):
                return  # another thread built it while this one waited
            model_changed = version is not None and (self.base is None or self.base.version != version)
            catalog_changed = cat_v != self.catalog_version
            if model_changed:
                loaded = load_model(self.client, self.keys, version)  # type: ignore[arg-type]  # model_changed implies a version
                if loaded is not None:
                    self.base = loaded
            if catalog_changed:
                raw_cards = self.client.hgetall(self.keys.catalog_items)
                self.cards = {str(text(k)): json.loads(v) for k, v in raw_cards.items()}
                self.catalog_embeddings = {}  # texts may have changed with the catalog
                self.catalog_version = cat_v
            if self.base is not None:
                self._load_new_item_embeddings()
                model = extend_with_new_items(self.base, self.cards, self.catalog_embeddings)
                self._pair = (model, CatalogView.build(model.item_ids, self.cards))
                self._built = (self.base.version, cat_v)

    def _current(self, version: str | None, cat_v: int) -> bool:
        """The published pair was built from this model version (or the active pointer is
        unset and a pair is held) and this catalog version."""
        built_version, built_catalog = self._built
        if built_catalog != cat_v or self._pair[0] is None:
            return False
        return version is None or built_version == version

    @property
    def model(self) -> LoadedModel | None:
        return self._pair[0]

    @property
    def view(self) -> CatalogView | None:
        return self._pair[1]

    def pair(self) -> tuple[LoadedModel | None, CatalogView | None]:
        """The model and its view, consistent with each other."""
        return self._pair

    def pair_for(self, version: str) -> tuple[LoadedModel | None, CatalogView | None]:
        """The model and view of ``version``: the active pair, or an experiment arm's version
        loaded from Redis once and rebuilt when the catalog changes ((None, None) if Redis
        does not hold it: the caller serves the active model instead)."""
        model, view = self._pair
        if model is not None and model.version == version:
            return model, view
        held = self._arms.get(version)
        if held is not None and held[2] == self.catalog_version:
            return held[0], held[1]
        with self._lock:
            loaded = load_model(self.client, self.keys, version)
            if loaded is None:
                return None, None
            if len(self._arms) >= 8:  # versions of experiments that ended
                self._arms.clear()
            self._load_new_item_embeddings(loaded)
            extended = extend_with_new_items(loaded, self.cards, self.catalog_embeddings)
            arm_view = CatalogView.build(extended.item_ids, self.cards)
            self._arms[version] = (extended, arm_view, self.catalog_version)
            return extended, arm_view

    def _load_new_item_embeddings(self, model: LoadedModel | None = None) -> None:
        """Text embeddings only for servable items the model (default: the active one) has
        not seen (the rest are in the model already); kept across refreshes."""
        base = model or self.base
        assert base is not None
        new_ids = [i for i in self.cards if i not in base.item_index]
        missing = [i for i in new_ids if i not in self.catalog_embeddings]
        if missing:
            raw = self.client.hmget(self.keys.catalog_embeddings, missing)
            for item, blob in zip(missing, raw):
                if blob is not None:
                    self.catalog_embeddings[item] = np.frombuffer(blob, dtype=np.float32)  # type: ignore[arg-type]  # redis answers bytes (no decode_responses)

    def load_from_disk(self, models_dir: Path, catalog: CatalogStore) -> None:
        """A worker that starts while Redis is unreachable holds nothing yet: it reads the
        registry's active version from disk and the servable catalog from SQL (the truth
        both are copied from), so it answers from the first request instead of a 503."""
        from content_catalog.publish import serving_cards
        from serving.publish import snapshot_of
        from storage.registry import ModelRegistry

        with self._lock:
            if self.base is not None:
                return
            registry = ModelRegistry(models_dir)
            active = registry.active()
            if active is None:
                return
            model = loaded_from_snapshot(snapshot_of(registry.get(active)))
            cards = serving_cards(catalog)
            self.base = model
            self.cards = json.loads(json.dumps(cards))  # the JSON types Redis would give back
            self._pair = (model, CatalogView.build(model.item_ids, self.cards))
            # a pair not built from Redis's catalog: the first successful read rebuilds it
            self._built = (model.version, None)

    def check(self) -> bool:
        """Read versions and refresh (used by readiness and by endpoints without user state).

        False when Redis no longer holds Solace's state (emptied and not yet rebuilt from
        SQL): the worker then keeps what it holds rather than load an empty catalog.
        """
        pipe = self.client.pipeline(transaction=False)
        pipe.get(self.keys.active_model)
        pipe.get(self.keys.catalog_version)
        pipe.exists(self.keys.restored)
        active, cat_v, restored = pipe.execute()
        self.mark_ok()
        if not restored:
            return False
        self.refresh(active, cat_v)
        return True

    def mark_ok(self) -> None:
        self.degraded = False

    def mark_degraded(self) -> None:
        self.degraded = True
