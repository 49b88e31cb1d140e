"""A published model in Redis: the one definition of its layout, written by publish and read
by every serving worker.

A version's snapshot is a JSON metadata key and float32 blobs, each under the version's own
keys (``Keyspace.model_*``, one hash tag per version), so a new version is complete before
the active pointer moves to it; the version is recorded in ``Keyspace.published_versions``
before any of its keys is written. User vectors are separate: per version, USER_BUCKETS
hashes, each in the slot of its users' own keys, field ``tenant:user``, value the vector's
float32 bytes (:func:`write_user_vectors`, :func:`user_vector`).
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import redis
from storage.keyspace import USER_BUCKETS, Keyspace

DTYPE = np.float32


def _bytes(matrix: np.ndarray) -> bytes:
    return np.ascontiguousarray(matrix, dtype=DTYPE).tobytes()


def _matrix(raw: bytes | None, rows: int, cols: int) -> np.ndarray | None:
    if raw is None or rows == 0 or cols == 0:
        return None
    return np.frombuffer(raw, dtype=DTYPE).reshape(rows, cols).copy()


@dataclass
class ModelSnapshot:
    """Everything serving reads of one published model version.

    ``foldin`` holds the λ and α the fold-in must solve new users with (empty: the
    defaults, as for versions published before they were recorded); ``foldin_parts`` is
    how a blend folds each part in (``recommender.foldin.BlendPart`` as JSON).
    """

    version: str
    algorithm: str
    created_at: str
    # the items, row by row: ids, factor vectors, log-popularity
    item_ids: list[str]
    item_vectors: np.ndarray
    popularity: np.ndarray
    # text embeddings of the items and the model that made them
    embedding_model: str | None = None
    item_embeddings: np.ndarray | None = None
    # learnt feature vectors (hybrid models): a cold user or a new item is their sum
    user_feature_names: list[str] = field(default_factory=list)
    user_feature_vectors: np.ndarray | None = None
    item_feature_names: list[str] = field(default_factory=list)
    item_feature_vectors: np.ndarray | None = None
    centroids: np.ndarray | None = None  # k-means centroids of the embeddings
    # fold-in: the typical trained user norm, λ and α, a blend's parts
    user_norm: float | None = None
    foldin: dict[str, float] = field(default_factory=dict)
    foldin_parts: list[dict[str, Any]] | None = None

    @property
    def dim(self) -> int:
        return int(self.item_vectors.shape[1])

    def _meta(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "algorithm": self.algorithm,
            "created_at": self.created_at,
            "dim": self.dim,
            "item_ids": self.item_ids,
            "user_features": self.user_feature_names if self.user_feature_vectors is not None else [],
            "item_features": self.item_feature_names if self.item_feature_vectors is not None else [],
            "embedding_model": self.embedding_model,
            "embedding_dim": int(self.item_embeddings.shape[1]) if self.item_embeddings is not None else 0,
            "popularity": [float(x) for x in self.popularity],
            "n_clusters": int(self.centroids.shape[0]) if self.centroids is not None else 0,
            "user_norm": self.user_norm,
            "foldin": self.foldin,
            "foldin_parts": self.foldin_parts,
        }

    def write(self, client: redis.Redis, keys: Keyspace) -> None:
        """Write the version's keys in one pipeline (the active pointer is the caller's),
        once the version is recorded as published (what retiring old versions reads)."""
        v = self.version
        client.hset(keys.published_versions, v, self.created_at)
        pipe = client.pipeline(transaction=False)
        pipe.set(keys.model_meta(v), json.dumps(self._meta()))
        pipe.set(keys.model_items(v), _bytes(self.item_vectors))
        for key, matrix in ((keys.model_embeddings(v), self.item_embeddings),
                            (keys.model_features(v), self.user_feature_vectors),
                            (keys.model_item_features(v), self.item_feature_vectors),
                            (keys.model_centroids(v), self.centroids)):
            if matrix is not None:
                pipe.set(key, _bytes(matrix))
        pipe.execute()

    @classmethod
    def read(cls, client: redis.Redis, keys: Keyspace, version: str) -> ModelSnapshot | None:
        """The version as published, or None when its metadata or item matrix is missing.

        Keys that older versions did not write read as empty (no embeddings, features,
        clusters, norm or fold-in settings); every other key is required.
        """
        pipe = client.pipeline(transaction=False)
        for key in keys.model_keys(version):
            pipe.get(key)
        raw_meta, raw_items, raw_emb, raw_ufeats, raw_ifeats, raw_centroids = pipe.execute()
        if raw_meta is None or raw_items is None:
            return None
        meta = json.loads(raw_meta)
        item_ids = list(meta["item_ids"])
        n, dim, edim = len(item_ids), meta["dim"], meta.get("embedding_dim", 0)
        items = _matrix(raw_items, n, dim)
        if items is None:  # no items (or no factors): an empty matrix of the written shape
            items = np.zeros((n, dim), dtype=DTYPE)
        ufeat_names = list(meta.get("user_features", []))
        ifeat_names = list(meta.get("item_features", []))
        return cls(
            version=version, algorithm=meta["algorithm"], created_at=meta.get("created_at", ""),
            item_ids=item_ids, item_vectors=items,
            popularity=np.asarray(meta.get("popularity", [0.0] * n), dtype=DTYPE),
            embedding_model=meta.get("embedding_model"),
            item_embeddings=_matrix(raw_emb, n, edim),
            user_feature_names=ufeat_names, user_feature_vectors=_matrix(raw_ufeats, len(ufeat_names), dim),
            item_feature_names=ifeat_names, item_feature_vectors=_matrix(raw_ifeats, len(ifeat_names), dim),
            centroids=_matrix(raw_centroids, meta.get("n_clusters", 0), edim),
            user_norm=meta.get("user_norm"),
            foldin=dict(meta.get("foldin") or {}),
            foldin_parts=meta.get("foldin_parts") or None,
        )

    @staticmethod
    def created_at_of(client: redis.Redis, keys: Keyspace, version: str) -> str:
        """When a published version was created ("" when its metadata is gone)."""
        return str(json.loads(client.get(keys.model_meta(version)) or b"{}").get("created_at", ""))


def vector_bytes(vector: np.ndarray) -> bytes:
    """A user vector as its hash field's value."""
    return np.asarray(vector, dtype=DTYPE).tobytes()


def user_vector(raw: bytes) -> np.ndarray:
    """A user vector read back from its hash field."""
    return np.frombuffer(raw, dtype=DTYPE)


def write_user_vectors(
    client: redis.Redis, keys: Keyspace, version: str, vectors: Iterable[tuple[str, str, bytes]],
    chunk: int = 5_000,
) -> int:
    """Write ``(tenant, user, vector_bytes)`` triples as ``version``'s user vectors; returns
    how many. Each bucket is built under a private name in its own slot and renamed over the
    live one, so a worker reading a bucket while the active version is re-published sees it
    whole, old or new. Buckets holding none of these users are left as they are."""
    by_bucket: dict[int, dict[str, bytes]] = defaultdict(dict)
    for tenant, user, raw in vectors:
        name, field_ = keys.user_vector(tenant, version, user)
        by_bucket[keys.user_bucket(tenant, user)][field_] = raw
    token = uuid.uuid4().hex
    building = {b: f"{keys.vector_bucket(version, b)}:building:{token}" for b in by_bucket}
    try:
        pipe = client.pipeline(transaction=False)
        queued = 0
        for bucket, fields in sorted(by_bucket.items()):
            pairs = list(fields.items())
            for start in range(0, len(pairs), chunk):
                pipe.hset(building[bucket], mapping=dict(pairs[start:start + chunk]))
                queued += 1
            # by name: redis-py's cluster pipeline refuses rename() (the two keys share a slot here)
            pipe.execute_command("RENAME", building[bucket], keys.vector_bucket(version, bucket))
            queued += 1
            if queued >= 200:
                pipe.execute()
                queued = 0
        pipe.execute()
    finally:
        if building:
            client.delete(*building.values())  # left only by a failure: gone after a rename
    return sum(len(fields) for fields in by_bucket.values())


def read_user_vector(client: redis.Redis, keys: Keyspace, tenant: str, version: str, user: str) -> bytes | None:
    """The stored vector bytes of one user in one version (None: none stored)."""
    name, field_ = keys.user_vector(tenant, version, user)
    raw = client.hget(name, field_)
    return raw if isinstance(raw, bytes) or raw is None else raw.encode()


def stored_user_vectors(client: redis.Redis, keys: Keyspace, version: str, tenant: str | None = None) -> dict[str, bytes]:
    """Every user vector stored for ``version`` (of ``tenant`` only if given), by ``tenant:user``
    (user id alone with ``tenant``): all USER_BUCKETS hashes are read, for audits and tests,
    never on a request's path."""
    out: dict[str, bytes] = {}
    names = keys.vector_buckets(version)
    for start in range(0, USER_BUCKETS, 1024):
        pipe = client.pipeline(transaction=False)
        for name in names[start:start + 1024]:
            pipe.hgetall(name)
        for fields in pipe.execute():
            for raw_field, value in fields.items():
                field_ = raw_field.decode()
                if tenant is None:
                    out[field_] = value
                elif field_.startswith(f"{tenant}:"):
                    out[field_[len(tenant) + 1:]] = value
    return out
