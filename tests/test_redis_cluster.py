"""Solace on a real Redis Cluster (issue 20, part 3).

A 3-master cluster is started on free loopback ports (redis-server in cluster mode, joined
by ``redis-cli --cluster create``) and a quick-start deployment runs on it through
``SOLACE_REDIS_URL=redis+cluster://...``: recommendations, fold-in, crisis-first, publish
(the switch and the retirement of old versions), erasure and rate limits. Without
redis-server or redis-cli the cluster tests skip with a message; under CI=true they fail.

The key layout is checked without a cluster: what one request touches shares one slot, a
version's keys share one, and a tenant's users spread over the slots.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import redis
from redis.crc import key_slot

from storage.keyspace import Keyspace
from tests.conftest import IN_CI, make_settings, stop_process

TENANT = "demo"  # the quick start's tenant


def _slot(name: str) -> int:
    return int(key_slot(name.encode()))


# --- the layout (no server needed) ---

def test_the_keys_one_request_touches_share_one_slot_for_every_user() -> None:
    keys = Keyspace("solace")
    versions = ["als-20260101T000000-abc123", "lightfm-20260102T000000-def456", "v{odd}"]
    odd = ["a{b}", "}x{", "{}", "{", "}", "al}ice{", "alice:work", "a?ice", "alice\\", "x" * 128]
    for user in [f"user-{n}" for n in range(3000)] + odd:
        names = keys.user_keys(TENANT, user) + [keys.user_vector(TENANT, v, user)[0] for v in versions]
        names.append(keys.user_vector(TENANT, versions[0], user)[0] + ":building:0123")  # publish's private name
        assert len({_slot(n) for n in names}) == 1, user
    # each bucket of users is in a slot of its own, the one its users' ids hash to
    from storage.keyspace import USER_BUCKETS, slot_tags

    assert [_slot("{%s}" % tag) for tag in slot_tags()] == list(range(USER_BUCKETS))
    assert all(_slot(keys.user_profile(TENANT, u)) == _slot(f"{TENANT}:{u}") for u in ("a", "b:c", "x" * 100))
    # a version's model keys together; the catalog's keys (one transaction) together
    for version in versions:
        assert len({_slot(n) for n in keys.model_keys(version)}) == 1
    catalog = [keys.catalog_items, keys.catalog_embeddings, keys.catalog_version,
               keys.catalog_items + ":staging", keys.catalog_embeddings + ":staging"]
    assert len({_slot(n) for n in catalog}) == 1


def test_the_users_of_one_tenant_spread_over_the_slots() -> None:
    keys = Keyspace("solace")
    users = [f"user-{n}" for n in range(5000)]
    slots = [_slot(keys.user_interactions(TENANT, u)) for u in users]
    # 5,000 users over 16,384 slots: about 4,300 distinct if placed at random; one hot
    # slot per tenant (the old per-tenant hash) would be 1
    assert len(set(slots)) > 4000
    assert max(np.bincount(slots)) <= 6
    # their vectors of one version are as spread as their state (the same slots)
    assert {_slot(keys.user_vector(TENANT, "v1", u)[0]) for u in users} == set(slots)
    # and a 3-master cluster's even split of the slots gives each master about a third
    thirds = np.bincount(np.asarray(slots) * 3 // 16384, minlength=3)
    assert thirds.min() > 5000 / 3 * 0.9


def test_a_key_prefix_with_braces_is_refused() -> None:
    from pydantic import ValidationError

    from core.config import Settings

    with pytest.raises(ValueError, match="must not contain"):
        Keyspace("solace{x}")
    with pytest.raises(ValidationError):
        Settings(redis_prefix="a{b}")


def test_cluster_urls_are_read_and_bad_ones_named() -> None:
    from storage.redis_conn import is_cluster_url, parse_cluster_url

    target = parse_cluster_url("redis+cluster://app:s%40cret@10.0.0.1:7000,10.0.0.2,[::1]:7002")
    assert target.nodes == [("10.0.0.1", 7000), ("10.0.0.2", 6379), ("::1", 7002)]
    assert (target.username, target.password, target.tls) == ("app", "s@cret", False)
    assert parse_cluster_url("rediss+cluster://h:1").tls
    assert is_cluster_url("redis+cluster://h:1") and not is_cluster_url("redis://h:1/0") and not is_cluster_url(None)
    for bad, said in (("redis+cluster://", "at least one node"), ("redis+cluster://h:port", "not a number"),
                      ("redis+cluster://h:1/0", "nodes only"), ("redis://h:1", "starts with"),
                      ("redis+cluster://h:70000", "host:port")):
        with pytest.raises(ValueError, match=said):
            parse_cluster_url(bad)


def test_the_rate_limiter_is_given_the_cluster() -> None:
    from core.config import Settings
    from serving.app import _limiter_storage

    plain = Settings(redis_url="redis+cluster://app:pw@10.0.0.1:7000,10.0.0.2:7001")
    assert _limiter_storage(plain, None) == ("redis+cluster://app:pw@10.0.0.1:7000,10.0.0.2:7001", {})
    tls = Settings(redis_url="rediss+cluster://10.0.0.1:7000")
    assert _limiter_storage(tls, None) == ("redis+cluster://10.0.0.1:7000", {"ssl": 1})


# --- a real cluster ---

def _free_port() -> int:
    """A loopback port free together with its cluster bus port (port + 10000)."""
    for _ in range(200):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port > 55000:
            continue
        try:
            with socket.socket() as s:
                s.bind(("127.0.0.1", port + 10000))
        except OSError:
            continue
        return port
    raise RuntimeError("no free loopback port pair for a cluster node")


def _cluster_ok(port: int) -> bool:
    try:
        info = redis.Redis(port=port, socket_timeout=2).execute_command("CLUSTER INFO")
    except redis.RedisError:
        return False
    if isinstance(info, dict):
        return str(info.get("cluster_state")) == "ok"
    text = info.decode() if isinstance(info, bytes) else str(info)
    return "cluster_state:ok" in text


@pytest.fixture(scope="module")
def redis_cluster_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A 3-master Redis Cluster on loopback, stopped after the module: its URL."""
    server, cli = shutil.which("redis-server"), shutil.which("redis-cli")
    if not server or not cli:
        message = ("redis-server and redis-cli are needed to start a Redis Cluster for these tests "
                   "(Debian: apt-get install redis-server)")
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    workdir: Path = tmp_path_factory.mktemp("redis-cluster")
    ports: list[int] = []
    while len(ports) < 3:
        port = _free_port()
        if port not in ports:
            ports.append(port)
    procs = []
    logs = []
    try:
        for port in ports:
            node_dir = workdir / str(port)
            node_dir.mkdir()
            log = open(node_dir / "redis.log", "w")  # noqa: SIM115 - closed when the node stops
            logs.append(log)
            procs.append(subprocess.Popen(
                [server, "--port", str(port), "--bind", "127.0.0.1", "--cluster-enabled", "yes",
                 "--cluster-config-file", str(node_dir / "nodes.conf"), "--cluster-node-timeout", "5000",
                 "--appendonly", "no", "--save", "", "--dir", str(node_dir), "--protected-mode", "no"],
                stdout=log, stderr=subprocess.STDOUT))
        deadline = time.time() + 30
        for port, proc in zip(ports, procs):
            while True:
                try:
                    redis.Redis(port=port, socket_timeout=1).ping()
                    break
                except redis.RedisError:
                    if proc.poll() is not None or time.time() > deadline:
                        raise AssertionError(f"redis-server on port {port} did not start: "
                                             f"{(workdir / str(port) / 'redis.log').read_text()[-2000:]}") from None
                    time.sleep(0.1)
        created = subprocess.run(
            [cli, "--cluster", "create", *[f"127.0.0.1:{p}" for p in ports], "--cluster-replicas", "0",
             "--cluster-yes"], capture_output=True, text=True, timeout=120)
        assert created.returncode == 0, created.stdout[-2000:] + created.stderr[-2000:]
        deadline = time.time() + 60
        while not all(_cluster_ok(p) for p in ports):
            assert time.time() < deadline, "the cluster did not reach cluster_state:ok"
            time.sleep(0.2)
        yield f"redis+cluster://127.0.0.1:{ports[0]}"
    finally:
        for proc in procs:
            stop_process(proc)
        for log in logs:
            log.close()


@pytest.fixture(scope="module")
def on_cluster(redis_cluster_url: str, tmp_path_factory: pytest.TempPathFactory, encoder):  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    """The quick start run on the cluster: seed catalog, simulated users, a trained and
    published model, an API key."""
    from solace.quickstart import run_quickstart
    from solace.services import Services

    prefix = f"solace-test-{uuid.uuid4().hex[:12]}"
    settings = make_settings(tmp_path_factory.mktemp("cluster-home"), redis_cluster_url, prefix,
                             cache_ttl_seconds=30)
    services = Services(settings)
    result = run_quickstart(services, n_users=150, say=lambda _m: None)
    return services, result


def _app_client(services: Any, api_key: str, **overrides: Any) -> Any:
    from serving.app import create_app

    settings = services.settings.model_copy(update=overrides) if overrides else services.settings
    client = create_app(settings).test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {api_key}"
    return client


def _events(user: str, resource: str, *types: str) -> dict[str, Any]:
    now = datetime.now(UTC).isoformat()
    return {"events": [{"event_id": uuid.uuid4().hex, "user_id": user, "resource_id": resource,
                        "type": t, "timestamp": now} for t in types]}


def test_the_client_is_a_cluster_client_and_a_tenant_spreads_over_every_master(on_cluster) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    from redis.cluster import RedisCluster

    services, result = on_cluster
    client, keys = services.redis, services.keys
    assert isinstance(client, RedisCluster)
    assert len(client.get_primaries()) == 3
    users = [u for t, u in services.profiles.all() if t == TENANT]
    held_by = {client.get_node_from_key(keys.user_profile(TENANT, u)).name for u in users
               if client.exists(keys.user_profile(TENANT, u))}
    assert len(users) >= 100 and len(held_by) == 3
    # the trained users' vectors are where their state is, on every master
    active = client.get(keys.active_model).decode()
    nodes = {client.get_node_from_key(keys.user_vector(TENANT, active, u)[0]).name for u in users
             if client.hexists(*keys.user_vector(TENANT, active, u))}
    assert len(nodes) == 3


def test_serving_fold_in_and_crisis_first_on_the_cluster(on_cluster) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    from storage.snapshot import read_user_vector

    services, result = on_cluster
    app = _app_client(services, result.api_key)
    assert app.get("/readyz").json["checks"] == {"redis": True, "state": True, "model": True}
    body = app.get(f"/v1/users/{result.example_user}/recommendations?k=10").json
    active = services.redis.get(services.keys.active_model).decode()
    assert body["model_version"] == active and body["source"] == "personalised" and len(body["items"]) == 10
    assert not body["degraded"]

    # fold-in: a new user's events give them a vector, in their own slot, at once
    user = f"newcomer-{uuid.uuid4().hex[:8]}"
    assert app.get(f"/v1/users/{user}/recommendations?k=10").json["source"] == "popular"
    sleep_items = [r.id for r in services.catalog.servable() if r.topics[0] == "sleep" and not r.is_crisis_resource][:4]
    batch: dict[str, Any] = {"events": []}
    for rid in sleep_items:
        batch["events"] += _events(user, rid, "complete", "like")["events"]
    assert app.post("/v1/events", json=batch).status_code == 202
    assert read_user_vector(services.redis, services.keys, TENANT, active, user) is not None
    after = app.get(f"/v1/users/{user}/recommendations?k=10").json
    assert after["source"] == "personalised"
    assert not set(sleep_items) & {i["resource_id"] for i in after["items"]}  # completed: not again

    # crisis first: a distress event (a script on the user's risk key) puts crisis resources first
    assert app.post("/v1/events", json=_events(user, sleep_items[0], "distress")).status_code == 202
    crisis = app.get(f"/v1/users/{user}/recommendations?k=10").json
    assert crisis["crisis"] is True and crisis["items"][0]["is_crisis_resource"]
    assert services.redis.exists(services.keys.user_risk(TENANT, user))


def _synthetic_version(services: Any, active: str, seed: int) -> Any:
    """A new version of the active model's items and users (random vectors), registered."""
    from storage.snapshot import ModelSnapshot

    snap = ModelSnapshot.read(services.redis, services.keys, active)
    trained = services.registry.get(active).ids()["users"]
    rng = np.random.default_rng(seed)
    return services.registry.save(
        "als", {"factors": snap.dim}, {
            "item_vectors": rng.standard_normal((len(snap.item_ids), snap.dim)).astype(np.float32),
            "user_vectors": rng.standard_normal((len(trained), snap.dim)).astype(np.float32),
            "popularity": snap.popularity},
        {"users": trained, "items": snap.item_ids}, {}, f"cluster-{seed}", {"data_source": "solace"})


def test_publish_switches_whole_versions_and_retires_old_ones_on_the_cluster(on_cluster) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    from serving.publish import publish_version
    from storage.redis_conn import connect_redis
    from storage.snapshot import ModelSnapshot, read_user_vector, stored_user_vectors

    services, result = on_cluster
    client, keys = services.redis, services.keys
    first = client.get(keys.active_model).decode()
    trained_user = result.example_user
    versions = [_synthetic_version(services, first, seed) for seed in range(4)]
    app = _app_client(services, result.api_key)

    problems: list[str] = []
    answered: set[str] = set()
    done = threading.Event()

    def read_while_publishing() -> None:
        reader = connect_redis(services.settings)
        while not done.is_set():
            active = reader.get(keys.active_model).decode()
            # whatever the pointer names is whole: its snapshot and its users' vectors
            if ModelSnapshot.read(reader, keys, active) is None:
                problems.append(f"{active}: snapshot incomplete")
            if read_user_vector(reader, keys, TENANT, active, trained_user) is None:
                problems.append(f"{active}: no vector for a trained user")
            response = app.get(f"/v1/users/{trained_user}/recommendations?k=5")
            if response.status_code != 200:
                problems.append(f"HTTP {response.status_code}")
            else:
                answered.add(response.json["model_version"])

    reader_thread = threading.Thread(target=read_while_publishing)
    reader_thread.start()
    try:
        for mv in versions[:3]:
            publish_version(mv, client, keys, keep=4)  # nothing retired under the reader
    finally:
        done.set()
        reader_thread.join()
    assert not problems, problems[:5]
    assert answered <= {first} | {mv.version for mv in versions[:3]} and answered

    # the fourth publish keeps two: the three older ones go, found without a SCAN
    before = {v.decode() for v in client.hkeys(keys.published_versions)}
    assert before >= {first} | {mv.version for mv in versions[:3]}
    outcome = publish_version(versions[3], client, keys, keep=2)
    kept = {v.decode() for v in client.hkeys(keys.published_versions)}
    assert kept == {versions[2].version, versions[3].version}
    assert outcome["removed_versions"] == len(before) - 1
    retired = {v.decode() for v in client.hkeys(keys.retired_versions)}
    assert {first, versions[0].version, versions[1].version} <= retired
    for gone in (first, versions[0].version, versions[1].version):
        assert ModelSnapshot.read(client, keys, gone) is None
        assert not any(client.exists(name) for name in keys.model_keys(gone))
        assert stored_user_vectors(client, keys, gone) == {}
    assert len(stored_user_vectors(client, keys, versions[3].version, TENANT)) == len(versions[3].ids()["users"])
    answer = app.get(f"/v1/users/{trained_user}/recommendations?k=5").json
    assert answer["model_version"] == versions[3].version


def test_erasure_removes_exactly_one_user_across_versions_on_the_cluster(on_cluster) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    from core.events import Event
    from core.users import UserProfile
    from storage.erasure import erase_user
    from storage.user_state import apply_events, put_profile

    services, _result = on_cluster
    client, keys = services.redis, services.keys
    tag = uuid.uuid4().hex[:6]
    target = f"alice{tag}"
    others = [target[:-1], f"{target}:work", f"{target}*", f"{target}x"]  # prefix and extensions
    resource = services.catalog.servable()[0].id
    now = datetime.now(UTC)
    published = [v.decode() for v in client.hkeys(keys.published_versions)]
    assert len(published) >= 2
    for n, user in enumerate([target, *others]):
        events = [Event(f"{tag}-{n}-c", user, resource, "complete", now - timedelta(minutes=3)),
                  Event(f"{tag}-{n}-r", user, resource, "distress", now - timedelta(minutes=2))]
        services.events.add_batch(TENANT, events)
        apply_events(client, keys, TENANT, events, 3600)
        profile = UserProfile(features=["topic:sleep"])
        services.profiles.put(TENANT, user, profile)
        put_profile(client, keys, TENANT, user, profile)
        client.hset(keys.user_cached_lists(TENANT, user), "sig", b"[]")
        for version in published:
            client.hset(*keys.user_vector(TENANT, version, user), f"vec-{user}".encode())

    report = erase_user(services.settings, services.engine, client, keys, TENANT, target)
    assert report.events == 2 and report.profiles == 1
    assert not any(client.exists(k) for k in keys.user_keys(TENANT, target))
    for version in published:
        assert client.hget(*keys.user_vector(TENANT, version, target)) is None
    for user in others:
        assert all(client.exists(k) for k in keys.user_keys(TENANT, user)), user
        for version in published:
            assert client.hget(*keys.user_vector(TENANT, version, user)) == f"vec-{user}".encode()
        assert len(services.events.user_events(TENANT, user)) == 2


def test_rate_limits_hold_on_the_cluster(on_cluster) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    services, result = on_cluster
    app = _app_client(services, result.api_key, rate_limit="3/minute")
    codes = [app.get(f"/v1/users/{result.example_user}/recommendations?k=3").status_code for _ in range(5)]
    assert codes[:3] == [200, 200, 200] and codes[3:] == [429, 429]
    # the limiter's counters are in the cluster (no other store): on one of its masters
    client = services.redis
    held = [key for node in client.get_primaries()
            for key in client.get_redis_connection(node).scan_iter(match=f"*{services.settings.redis_prefix}:rl*")]
    assert held


def test_restore_rebuilds_an_emptied_cluster_from_sql(on_cluster) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    from serving.recovery import restore_redis

    services, result = on_cluster
    client, keys = services.redis, services.keys
    user = result.example_user
    for node in client.get_primaries():  # everything of this deployment, on every master
        conn = client.get_redis_connection(node)
        for key in conn.scan_iter(match=f"{services.settings.redis_prefix}:*", count=1000):
            conn.delete(key)
    assert not client.exists(keys.restored)
    counts = restore_redis(services)
    assert counts["users"] >= 100 and client.exists(keys.restored)
    active = client.get(keys.active_model).decode()
    assert client.hget(*keys.user_vector(TENANT, active, user)) is not None
    body = _app_client(services, result.api_key).get(f"/v1/users/{user}/recommendations?k=5").json
    assert body["model_version"] == active and body["source"] == "personalised"


def test_nothing_solace_runs_scans_redis() -> None:
    """On a cluster a SCAN (or KEYS) sees one node: no application code may depend on one."""
    import re

    root = Path(__file__).resolve().parents[1]
    scanning = re.compile(r"\.(scan_iter|scan|keys)\(\s*(match=|[\"'f])|\"(SCAN|KEYS)\"")
    found = []
    for package in ("core", "storage", "content_catalog", "recommender", "analytics", "training", "serving", "solace"):
        for path in (root / package).rglob("*.py"):
            for n, line in enumerate(path.read_text().splitlines(), 1):
                if scanning.search(line):
                    found.append(f"{path.relative_to(root)}:{n}: {line.strip()}")
    assert not found, found
