"""Refreshing user vectors as events arrive, so the next request reflects them."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import redis

from serving.model_cache import LoadedModel
from serving.state import ServingState
from storage.keyspace import Keyspace
from storage.snapshot import vector_bytes


def fold_in_users(st: ServingState, tenant: str, users: Iterable[str]) -> int:
    """Recompute each user's vector from their positive interactions held in Redis.

    Uses the worker's current model; the vector is written under that model's version,
    so a newer model published meanwhile is never given a vector from an older space.
    """
    model = st.cache.model
    if model is None:
        return 0
    return fold_in_from_redis(st.redis, st.keys, model, tenant, users)


def fold_in_from_redis(
    client: redis.Redis, keys: Keyspace, model: LoadedModel, tenant: str, users: Iterable[str],
) -> int:
    """The fold-in itself, for serving and for publish/restore (which hold no worker state)."""
    users = sorted(set(users))
    if not users:
        return 0
    pipe = client.pipeline(transaction=False)
    for user in users:
        pipe.hgetall(keys.user_interactions(tenant, user))
    histories = pipe.execute()
    known, rows, confs = [], [], []
    for user, history in zip(users, histories):
        pairs = [(model.item_index.get(item.decode()), float(w)) for item, w in history.items()]
        pairs = [(r, w) for r, w in pairs if r is not None]
        if pairs:
            known.append(user)
            rows.append(np.asarray([r for r, _ in pairs], dtype=np.int64))
            confs.append(np.asarray([w for _, w in pairs]))
    vectors: dict[str, bytes] = {}
    if known:
        solved = model.foldin.user_vectors(model.item_matrix, rows, confs)
        vectors = {user: vector_bytes(solved[n]) for n, user in enumerate(known)}
    if vectors:
        pipe = client.pipeline(transaction=False)
        for user, raw in vectors.items():
            pipe.hset(*keys.user_vector(tenant, model.version, user), raw)  # the user's own slot
        pipe.execute()
    return len(vectors)
