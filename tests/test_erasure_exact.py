"""Finding 7 of issue 13: erasure removes exactly one user.

Erasing ``alice`` must leave ``alice:work``, ``alice*``, ``ali``, ``a?ice`` and ``alice\\``
alone, in Redis (live state, cached lists, risk flags, user-vector buckets of published
and retired versions), in SQL (events,
profiles) and in the model registry. A property test generates sets of ids that are
prefixes of each other and contain glob characters and ':', on the real Redis and on
SQLite and PostgreSQL.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import redis as redis_lib
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select

from core.events import Event
from core.users import UserProfile
from storage.events import EventStore
from storage.keyspace import Keyspace
from storage.profiles import ProfileStore
from storage.tables import events_table, profiles_table
from tests.conftest import make_settings

TENANT = "acme"
OTHER_TENANT = "zeta"
# characters Redis MATCH treats specially, the key separator, and plain letters
_ALPHABET = "al*?[]\\:^-!"


@st.composite
def id_sets(draw: st.DrawFn) -> tuple[list[str], int]:
    """Distinct ids, each set holding a base id with its prefixes and extensions, glob
    variants and ':'-separated children; and the index of the one to erase."""
    base = draw(st.text(alphabet=_ALPHABET, min_size=1, max_size=6))
    extra = draw(st.lists(st.text(alphabet=_ALPHABET, min_size=1, max_size=8), max_size=4))
    related = [base[:n] for n in range(1, len(base))] + [
        base + ":work", base + "*", base + "?", base + "\\", base + ":", "*", "?" * len(base),
        base.replace("a", "?", 1), "[" + base + "]", base + "x",
    ]
    ids = list(dict.fromkeys([base, *extra, *draw(st.lists(st.sampled_from(related), min_size=2, max_size=8))]))
    return ids, draw(st.integers(0, len(ids) - 1))


def _populate(client: redis_lib.Redis, keys: Keyspace, engine: Engine, registry_root: Path,
              tenant: str, ids: list[str]) -> dict[str, str]:
    """Every kind of state Solace keeps for each user; returns the stored version names."""
    from core.ids import user_key
    from storage.registry import ModelRegistry
    from storage.user_state import apply_events, put_profile

    now = datetime.now(UTC)
    store = EventStore(engine)
    profiles = ProfileStore(engine)
    for n, user in enumerate(ids):
        events = [Event(f"e{n}-c", user, "r-done", "complete", now - timedelta(minutes=5)),
                  Event(f"e{n}-d", user, "r-no", "dismiss", now - timedelta(minutes=4)),
                  Event(f"e{n}-l", user, "r-like", "like", now - timedelta(minutes=3)),
                  Event(f"e{n}-r", user, "r-done", "report", now - timedelta(minutes=2))]
        store.add_batch(tenant, events)
        store.add_batch(OTHER_TENANT, events)
        apply_events(client, keys, tenant, events, 3600)
        apply_events(client, keys, OTHER_TENANT, events, 3600)
        profile = UserProfile(features=["topic:sleep"], locale="en", age_band=None, opt_outs=["grief"])
        for t in (tenant, OTHER_TENANT):
            profiles.put(t, user, profile)
            put_profile(client, keys, t, user, profile)
            client.hset(keys.user_cached_lists(t, user), "sig", b"[]")
    registry = ModelRegistry(registry_root)
    vectors = np.arange(len(ids) * 2 * 3, dtype=np.float32).reshape(len(ids) * 2, 3)
    items = {"item_vectors": np.ones((2, 3), np.float32)}
    on_log = registry.save(
        "als", {}, {**items, "user_vectors": vectors},
        {"users": [user_key(t, u) for t in (tenant, OTHER_TENANT) for u in ids], "items": ["a", "b"]},
        {}, "fp-log", {"data_source": "solace"})
    on_files = registry.save(
        "als", {}, {**items, "user_vectors": vectors[: len(ids)]}, {"users": list(ids), "items": ["a", "b"]},
        {}, "fp-files", {"data_source": "files"})
    registry.record_activation(on_files.version, "publish", tenant=tenant)
    registry.record_activation(on_log.version, "publish")
    client.set(keys.active_model, on_log.version)
    # as publish records its versions; the oldest one was retired from Redis after a worker
    # still holding it folded these users into it (only the retired index knows it)
    client.hset(keys.published_versions, mapping={on_log.version: "2", on_files.version: "1"})
    client.hset(keys.retired_versions, "older-version-only-in-redis", "0")
    for version in (on_log.version, on_files.version, "older-version-only-in-redis"):
        for t in (tenant, OTHER_TENANT):
            for u in ids:
                client.hset(*keys.user_vector(t, version, u), f"vec-{u}".encode())
    return {"log": on_log.version, "files": on_files.version}


def _redis_snapshot(client: redis_lib.Redis, keys: Keyspace, prefix: str) -> dict[str, object]:
    """Every key under the prefix with its value (hashes and sets as Python values)."""
    out: dict[str, object] = {}
    for raw in client.scan_iter(match=f"{prefix}:*", count=1000):
        kind = client.type(raw).decode()
        name = raw.decode()
        if kind == "hash":
            out[name] = client.hgetall(raw)
        elif kind == "set":
            out[name] = client.smembers(raw)
        else:
            out[name] = client.get(raw)
    return out


def _sql_counts(engine: Engine, tenant: str) -> dict[tuple[str, str], int]:
    counts: dict[tuple[str, str], int] = {}
    with engine.connect() as conn:
        for table in (events_table, profiles_table):
            rows = conn.execute(select(table.c.user_id, func.count()).where(table.c.tenant == tenant)
                                .group_by(table.c.user_id)).all()
            for user, count in rows:
                counts[(table.name, user)] = count
    return counts


def _registry_rows(registry_root: Path) -> dict[str, dict[str, list[float]]]:
    from storage.registry import ModelRegistry

    out = {}
    for version in ModelRegistry(registry_root).list():
        users = version.ids()["users"]
        vectors = version.arrays()["user_vectors"]
        out[version.version] = {u: vectors[n].tolist() for n, u in enumerate(users)}
    return out


@given(case=id_sets())
@hsettings(max_examples=30, deadline=None,
           suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
def test_erasing_one_user_leaves_every_other_user_intact(case, sql_engine, redis_url) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    from core.ids import user_key
    from storage.erasure import erase_user

    ids, target_index = case
    target = ids[target_index]
    prefix = f"solace-test-{uuid.uuid4().hex[:12]}"
    home = Path(tempfile.mkdtemp(prefix="erasure-"))
    tenant = f"t{uuid.uuid4().hex[:8]}"  # SQL rows of earlier examples stay in other tenants
    client = redis_lib.Redis.from_url(redis_url)
    settings = make_settings(home, redis_url, prefix)
    keys = Keyspace(prefix)
    try:
        versions = _populate(client, keys, sql_engine, settings.models_dir, tenant, ids)
        before_redis = _redis_snapshot(client, keys, prefix)
        before_sql = _sql_counts(sql_engine, tenant)
        before_other_sql = _sql_counts(sql_engine, OTHER_TENANT)
        before_registry = _registry_rows(settings.models_dir)

        report = erase_user(settings, sql_engine, client, keys, tenant, target)

        after_redis = _redis_snapshot(client, keys, prefix)
        # the erased user: no key, no hash field, no SQL row, no registry row left
        for key in keys.user_keys(tenant, target):
            assert not client.exists(key), key
        erased_field = user_key(tenant, target).encode()
        for name, value in after_redis.items():
            if ":uv:" in name:
                assert erased_field not in value, name  # type: ignore[operator]  # a hash's value is a dict here
        after_sql = _sql_counts(sql_engine, tenant)
        assert not [k for k in after_sql if k[1] == target]
        after_registry = _registry_rows(settings.models_dir)
        assert user_key(tenant, target) not in after_registry[versions["log"]]
        assert target not in after_registry[versions["files"]]
        assert report.events == 4 and report.profiles == 1 and report.model_versions == 2

        # everyone else: exactly as before
        expected_redis = {}
        erased_keys = set(keys.user_keys(tenant, target))
        for name, value in before_redis.items():
            if name in erased_keys:
                continue
            if ":uv:" in name:
                value = {u: v for u, v in value.items() if u != erased_field}  # type: ignore[union-attr]  # a hash's value is a dict here
                if not value:
                    continue  # a bucket that held only the erased user: Redis drops an emptied hash
            expected_redis[name] = value
        assert after_redis == expected_redis
        assert after_sql == {k: v for k, v in before_sql.items() if k[1] != target}
        assert _sql_counts(sql_engine, OTHER_TENANT) == before_other_sql
        assert after_registry[versions["log"]] == {
            u: v for u, v in before_registry[versions["log"]].items() if u != user_key(tenant, target)}
        assert after_registry[versions["files"]] == {
            u: v for u, v in before_registry[versions["files"]].items() if u != target}
    finally:
        for raw in client.scan_iter(match=f"{prefix}:*", count=1000):
            client.delete(raw)
        shutil.rmtree(home, ignore_errors=True)


def test_erasing_alice_keeps_alice_work(sql_engine, settings, redis_url) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    """The issue's own case, named: ``alice:work`` keeps all of its live keys."""
    from storage.erasure import erase_user

    client = redis_lib.Redis.from_url(redis_url)
    keys = Keyspace(settings.redis_prefix)
    ids = ["alice", "alice:work", "alice*", "ali", "a?ice", "alice\\"]
    versions = _populate(client, keys, sql_engine, settings.models_dir, TENANT, ids)
    erase_user(settings, sql_engine, client, keys, TENANT, "alice")
    for user in ids[1:]:
        for key in keys.user_keys(TENANT, user):
            assert client.exists(key), key
        for version in versions.values():
            assert client.hget(*keys.user_vector(TENANT, version, user)) == f"vec-{user}".encode()
        assert client.hget(*keys.user_vector(TENANT, "older-version-only-in-redis", user)) == f"vec-{user}".encode()
    assert not any(client.exists(key) for key in keys.user_keys(TENANT, "alice"))
    for version in (*versions.values(), "older-version-only-in-redis"):
        assert client.hget(*keys.user_vector(TENANT, version, "alice")) is None
        assert client.hget(*keys.user_vector(OTHER_TENANT, version, "alice")) == b"vec-alice"
