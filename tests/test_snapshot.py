"""The published-model snapshot: what publish writes is what a serving worker reads."""

from __future__ import annotations

import numpy as np
import redis

from storage.keyspace import Keyspace
from storage.snapshot import (
    ModelSnapshot, read_user_vector, stored_user_vectors, user_vector, vector_bytes, write_user_vectors,
)


def _full_snapshot(rng: np.random.Generator) -> ModelSnapshot:
    n, dim, edim = 7, 5, 4
    return ModelSnapshot(
        version="lightfm-test-1", algorithm="lightfm", created_at="2026-12-02T00:00:00+00:00",
        item_ids=[f"item-{i}" for i in range(n)],
        item_vectors=rng.standard_normal((n, dim)).astype(np.float32),
        popularity=np.log1p(np.arange(n, dtype=np.float32)),
        embedding_model="all-MiniLM-L6-v2", item_embeddings=rng.standard_normal((n, edim)).astype(np.float32),
        user_feature_names=["topic:sleep", "age:18-24"],
        user_feature_vectors=rng.standard_normal((2, dim)).astype(np.float32),
        item_feature_names=["topic:sleep", "type:article", "text-cluster:0"],
        item_feature_vectors=rng.standard_normal((3, dim)).astype(np.float32),
        centroids=rng.standard_normal((2, edim)).astype(np.float32),
        user_norm=1.25, foldin={"regularization": 0.1, "alpha": 1.0},
        foldin_parts=[{"algorithm": "als", "dim": 3, "weight": 0.4}],
    )


def _assert_same(read: ModelSnapshot, written: ModelSnapshot) -> None:
    for name, value in vars(written).items():
        got = getattr(read, name)
        if isinstance(value, np.ndarray):
            assert got is not None and got.dtype == np.float32, name
            np.testing.assert_array_equal(got, value.astype(np.float32), err_msg=name)
        else:
            assert got == value, name


def test_a_snapshot_reads_back_exactly_as_written(redis_url: str, redis_prefix: str) -> None:
    client, keys = redis.Redis.from_url(redis_url), Keyspace(redis_prefix)
    written = _full_snapshot(np.random.default_rng(3))
    written.write(client, keys)
    read = ModelSnapshot.read(client, keys, written.version)
    assert read is not None
    _assert_same(read, written)
    assert ModelSnapshot.created_at_of(client, keys, written.version) == written.created_at


def test_a_snapshot_without_optional_parts_reads_back_without_them(redis_url: str, redis_prefix: str) -> None:
    client, keys = redis.Redis.from_url(redis_url), Keyspace(redis_prefix)
    rng = np.random.default_rng(4)
    written = ModelSnapshot(version="als-test-2", algorithm="als", created_at="2026-12-02T01:00:00+00:00",
                            item_ids=["a", "b", "c"], item_vectors=rng.standard_normal((3, 2)).astype(np.float32),
                            popularity=np.zeros(3, np.float32))
    written.write(client, keys)
    read = ModelSnapshot.read(client, keys, written.version)
    assert read is not None
    _assert_same(read, written)
    assert not client.exists(keys.model_embeddings(written.version), keys.model_centroids(written.version))


def test_a_missing_version_reads_as_none(redis_url: str, redis_prefix: str) -> None:
    assert ModelSnapshot.read(redis.Redis.from_url(redis_url), Keyspace(redis_prefix), "never-published") is None


def test_user_vectors_round_trip_in_chunks(redis_url: str, redis_prefix: str) -> None:
    client, keys = redis.Redis.from_url(redis_url), Keyspace(redis_prefix)
    users = np.random.default_rng(5).standard_normal((53, 4)).astype(np.float32)
    written = write_user_vectors(client, keys, "v1", (("acme", f"u{i}", vector_bytes(users[i])) for i in range(len(users))),
                                 chunk=2)
    assert written == len(users)
    assert len(stored_user_vectors(client, keys, "v1", "acme")) == len(users)
    for i in (0, 26, 52):
        raw = read_user_vector(client, keys, "acme", "v1", f"u{i}")
        assert isinstance(raw, bytes)
        np.testing.assert_array_equal(user_vector(raw), users[i])
    assert read_user_vector(client, keys, "zeta", "v1", "u0") is None  # another tenant's user u0
    assert not list(client.scan_iter(match=f"{redis_prefix}:*:building:*"))
