"""Refreshing user vectors as events arrive, so the next request reflects them."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from serving.state import ServingState


def fold_in_users(st: ServingState, tenant: str, users: Iterable[str]) -> int:
    """Recompute each user's vector from their positive interactions held in Redis.

    Uses the worker's current model; the vector is written under that model's version,
    so a newer model published meanwhile is never given a vector from an older space.
    """
    model = st.cache.model
    users = sorted(set(users))
    if model is None or not users:
        return 0
    pipe = st.redis.pipeline(transaction=False)
    for user in users:
        pipe.hgetall(st.keys.user_interactions(tenant, user))
    histories = pipe.execute()
    vectors: dict[str, bytes] = {}
    for user, history in zip(users, histories):
        rows, conf = [], []
        for item, weight in history.items():
            row = model.item_index.get(item.decode())
            if row is not None:
                rows.append(row)
                conf.append(float(weight))
        vec = model.foldin.user_vector(model.item_matrix, np.asarray(rows, dtype=np.int64), np.asarray(conf))
        if vec is not None:
            vectors[user] = vec.tobytes()
    if vectors:
        st.redis.hset(st.keys.user_vectors(tenant, model.version), mapping=vectors)
    return len(vectors)
