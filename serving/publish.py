"""Publishing a model version to Redis, where serving workers pick it up.

Everything of the new version is written under its own keys first; only then does the
active pointer switch, in one ``SET``. A worker therefore sees the old model or the new
one, never half of each. Older versions beyond ``keep`` are removed afterwards.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime

import numpy as np
import redis

from core.ids import split_user_key
from recommender.foldin import foldin_settings, typical_user_norm
from storage.keyspace import Keyspace
from storage.registry import ModelVersion, trained_on_store
from storage.redis_conn import text
from storage.snapshot import ModelSnapshot, vector_bytes, write_user_vectors

_CHUNK = 5_000
_DELETES_PER_ROUND_TRIP = 2_048


def snapshot_of(
    version: ModelVersion, arrays: dict[str, np.ndarray] | None = None, ids: dict[str, list[str]] | None = None,
) -> ModelSnapshot:
    """What serving reads of ``version``: its item side, and what fold-in needs of it."""
    arrays = version.arrays() if arrays is None else arrays
    ids = version.ids() if ids is None else ids
    algorithm = version.manifest["algorithm"]
    return ModelSnapshot(
        version=version.version, algorithm=algorithm, created_at=version.manifest["created_at"],
        item_ids=ids["items"], item_vectors=arrays["item_vectors"],
        popularity=arrays.get("popularity", np.zeros(len(ids["items"]))),
        embedding_model=version.manifest.get("embedding_model"), item_embeddings=arrays.get("item_embeddings"),
        user_feature_names=ids.get("user_features", []), user_feature_vectors=arrays.get("user_feature_vectors"),
        item_feature_names=ids.get("item_features", []), item_feature_vectors=arrays.get("item_feature_vectors"),
        centroids=arrays.get("cluster_centroids"),
        # typical trained user-vector norm (factor columns), the scale fold-in returns to
        user_norm=typical_user_norm(arrays["user_vectors"], algorithm),
        # the λ and α serving's fold-in must solve new users with
        foldin=foldin_settings(algorithm, version.manifest.get("params", {})),
        # a blend folds each part in by its own rule (recommender.foldin.BlendFoldIn)
        foldin_parts=version.manifest.get("foldin_parts"),
    )


def publish_version(
    version: ModelVersion, client: redis.Redis, keys: Keyspace, keep: int = 2, tenant: str | None = None,
    activate: bool = True,
) -> dict[str, int]:
    """Write ``version`` to Redis and make it active (``activate=False``: only write it, for
    an experiment's arm served beside the active version).

    User vectors go under their tenant: the tenant in each ``tenant:user`` key of a version
    trained on the event log, or ``tenant`` for every user of a version trained on files.
    A file-trained version published without ``tenant`` gets no user vectors at all (its
    ids belong to no tenant); serving then folds users in from their events.
    """
    arrays = version.arrays()
    ids = version.ids()
    if len(ids["users"]) != len(arrays["user_vectors"]):
        raise ValueError(f"{version.version} changed while it was read (a user was erased meanwhile): publish again")
    snapshot_of(version, arrays, ids).write(client, keys)
    v = version.version

    users = arrays["user_vectors"].astype(np.float32)
    published_users = 0
    if trained_on_store(version) or tenant is not None:
        def triples() -> Iterator[tuple[str, str, bytes]]:
            for row, key in enumerate(ids["users"]):
                owner, user = _tenant_and_user(key, tenant)
                yield owner, user, vector_bytes(users[row])

        # each bucket is built under a private name and renamed over the live one:
        # re-publishing the active version never shows serving a half-filled bucket
        published_users = write_user_vectors(client, keys, v, triples(), chunk=_CHUNK)
        _drop_users_erased_meanwhile(client, keys, version, ids["users"], tenant)
    removed = 0
    if activate:
        client.set(keys.active_model, v)
        removed = _remove_old_versions(client, keys, keep, current=v)
    return {"items": len(ids["items"]), "users": published_users,
            "users_not_published": len(ids["users"]) - published_users, "removed_versions": removed}


def _tenant_and_user(key: str, tenant: str | None) -> tuple[str, str]:
    """Where a version's user id is served: under ``tenant`` for a file-trained version
    published for it, else under the tenant its ``tenant:user`` key names."""
    return (tenant, key) if tenant is not None else split_user_key(key)


def _drop_users_erased_meanwhile(
    client: redis.Redis, keys: Keyspace, version: ModelVersion, published: list[str], tenant: str | None,
) -> None:
    """A user erased while this publish ran was removed from the stored version and from the
    live hash, but may be in the hash just renamed over it: read the version's ids again
    and delete any published user that is no longer there."""
    for attempt in range(20):
        try:
            current = set(version.ids()["users"])
            break
        except (OSError, ValueError):  # between the two renames of an erasure's rewrite
            time.sleep(0.05 * (attempt + 1))
    else:
        raise ValueError(f"{version.version} could not be re-read after publishing: publish again")
    for key in published:
        if key not in current:
            owner, user = _tenant_and_user(key, tenant)
            client.hdel(*keys.user_vector(owner, version.version, user))


def _remove_old_versions(client: redis.Redis, keys: Keyspace, keep: int, current: str) -> int:
    """Retire published versions beyond the ``keep`` newest (the current one and a running
    experiment's arms always stay): each is recorded as retired first (erasure still looks
    there), then its model keys and every one of its vector buckets are deleted by name."""
    versions = {str(text(v)): str(text(at)) for v, at in client.hgetall(keys.published_versions).items()}
    ordered = sorted(versions, key=lambda x: versions[x], reverse=True)
    # a running experiment's arms stay servable whatever their age
    pinned = {str(text(m)) for m in client.smembers(keys.pinned_versions)}
    stale = [v for v in ordered if v != current and v not in pinned][max(keep - 1, 0) :]
    for v in stale:
        client.hset(keys.retired_versions, v, datetime.now(UTC).isoformat())
        client.delete(*keys.model_keys(v))  # one tag: one slot
        names = keys.vector_buckets(v)
        for start in range(0, len(names), _DELETES_PER_ROUND_TRIP):
            pipe = client.pipeline(transaction=False)
            for name in names[start:start + _DELETES_PER_ROUND_TRIP]:
                pipe.unlink(name)
            pipe.execute()
        client.hdel(keys.published_versions, v)
    return len(stale)
