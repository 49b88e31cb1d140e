"""Redis is a cache that can be rebuilt: the safety rules hold while it is gone, and serving
restores it from SQL by itself when it comes back empty.

A real ``solace serve`` (gunicorn, two workers) runs against a Redis server of the test's
own, which the test kills under load and then starts again, empty.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import stop_process
import redis

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server binary not on PATH")]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start_redis(port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no"], stdout=subprocess.DEVNULL)
    client = redis.Redis(port=port)
    for _ in range(100):
        try:
            client.ping()
            return proc
        except redis.ConnectionError:
            time.sleep(0.05)
    raise RuntimeError("redis-server did not start")


def _call(base: str, method: str, path: str, key: str, body: Any = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method,
                                 headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            raw = resp.read()
            return resp.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        try:
            return exc.code, json.loads(raw)
        except ValueError:
            return exc.code, raw.decode(errors="replace")


def _topics(view_cards: dict[str, dict[str, Any]], body: dict[str, Any]) -> set[str]:
    out: set[str] = set()
    for item in body["items"]:
        if not item["is_crisis_resource"]:
            out.update(item["topics"])
    return out


@pytest.fixture
def outage_server(deployment, tmp_path: Path):  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    from solace.jobs import publish
    from solace.services import Services
    from storage.api_keys import KeyStore, Role
    from storage.tenants import TenantPolicy, TenantPolicyStore

    services, result = deployment
    redis_port = _free_port()
    server = _start_redis(redis_port)
    url = f"redis://127.0.0.1:{redis_port}/0"
    settings = services.settings.model_copy(update={"redis_url": url, "redis_prefix": f"fault-{uuid.uuid4().hex[:6]}"})
    own = Services(settings)
    publish(own, result.version)  # an empty Redis: publish restores everything from SQL
    strict_key = KeyStore(own.engine).create("strict-" + uuid.uuid4().hex[:6], Role.PLATFORM)[1]
    strict_tenant = KeyStore(own.engine).authenticate(strict_key).tenant  # type: ignore[union-attr]  # the key was just created
    TenantPolicyStore(own.engine, own.redis, own.keys).put(
        strict_tenant, TenantPolicy(excluded_topics=["anxiety", "sleep", "stress"]))
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOLACE_")}
    env.update({"SOLACE_HOME": str(settings.home), "SOLACE_REDIS_URL": url, "SOLACE_REDIS_PREFIX": settings.redis_prefix,
                "SOLACE_RATE_LIMIT": "100000/minute", "HF_HUB_OFFLINE": "1"})
    serve = subprocess.Popen([sys.executable, "-m", "solace.cli", "serve", "--port", str(port), "--workers", "2"],
                             env=env, stdout=subprocess.DEVNULL, stderr=(tmp_path / "serve.log").open("w"))
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if _call(base, "GET", "/readyz", result.api_key)[0] == 200:
                break
        except OSError:
            pass
        time.sleep(0.2)
    else:
        serve.kill()
        raise RuntimeError("solace serve did not become ready: " + (tmp_path / "serve.log").read_text()[-3000:])
    state = {"server": server, "log": tmp_path / "serve.log"}
    try:
        yield base, result, strict_key, redis_port, state
    finally:
        stop_process(serve)
        state["server"].terminate()
        state["server"].wait(timeout=10)


def test_redis_killed_under_load_keeps_every_rule_and_recovers_by_itself(outage_server) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    base, result, strict_key, redis_port, state = outage_server
    key = result.api_key
    minor, completer, reporter = (f"fault-{n}-{uuid.uuid4().hex[:6]}" for n in ("minor", "done", "report"))
    opted_out = ["anxiety", "stress", "sleep", "mindfulness"]
    assert _call(base, "PUT", f"/v1/users/{minor}", key,
                 {"age_band": "13-15", "opt_outs": opted_out, "features": ["topic:anxiety"]})[0] == 200
    first = _call(base, "GET", f"/v1/users/{result.example_user}/recommendations?k=20", key)[1]
    done = [i["resource_id"] for i in first["items"][:5]]
    now = datetime.now(UTC).isoformat()
    status, _ = _call(base, "POST", "/v1/events", key, {"events": [
        {"event_id": f"c-{uuid.uuid4().hex}", "user_id": completer, "resource_id": r, "type": "complete",
         "timestamp": now} for r in done]})
    assert status == 202

    statuses: Counter[int] = Counter()
    stop = threading.Event()

    def load() -> None:
        while not stop.is_set():
            for path in (f"/v1/users/{result.example_user}/recommendations?k=10", f"/v1/users/{minor}/recommendations"):
                statuses[_call(base, "GET", path, key)[0]] += 1

    threads = [threading.Thread(target=load) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        time.sleep(1.0)
        state["server"].kill()
        state["server"].wait(timeout=10)
        time.sleep(0.5)
        # during the outage: every rule as strict as usual
        for _ in range(6):
            status, body = _call(base, "GET", f"/v1/users/{minor}/recommendations?k=20", key)
            assert status == 200 and body["degraded"] is True
            assert not _topics({}, body) & set(opted_out), "a minor's opt-outs were served during the outage"
            status, body = _call(base, "GET", "/v1/users/anyone-strict/recommendations?k=20", strict_key)
            assert status == 200
            assert not _topics({}, body) & {"anxiety", "sleep", "stress"}, "a tenant's exclusions were served"
            status, body = _call(base, "GET", f"/v1/users/{completer}/recommendations?k=20", key)
            assert status == 200 and not {i["resource_id"] for i in body["items"]} & set(done)
        status, _ = _call(base, "POST", "/v1/events", key, {"events": [
            {"event_id": f"r-{uuid.uuid4().hex}", "user_id": reporter, "resource_id": done[0], "type": "report",
             "timestamp": datetime.now(UTC).isoformat()}]})
        assert status == 202, "events are durable in SQL while Redis is away"
        status, body = _call(base, "GET", f"/v1/users/{reporter}/recommendations?k=10", key)
        assert status == 200 and body["crisis"] is True and body["items"][0]["is_crisis_resource"]
        assert _call(base, "GET", "/readyz", key)[0] == 503

        # Redis comes back empty: serving rebuilds it from SQL without any command
        state["server"] = _start_redis(redis_port)
        back = time.monotonic()
        ready_streak = 0
        while ready_streak < 6:
            # a hang guard, not a speed target (those live in bench/): recovery needs no command
            assert time.monotonic() - back < 60.0, "not recovered within 60 s of an empty Redis coming back"
            status, _ = _call(base, "GET", "/readyz", key)
            ready_streak = ready_streak + 1 if status == 200 else 0
            time.sleep(0.05)
        elapsed = time.monotonic() - back
    finally:
        stop.set()
        for t in threads:
            t.join()
    if any(s >= 500 for s in statuses):
        lines = state["log"].read_text().splitlines()
        telling = [x for x in lines if ('"status": 5' in x and "/readyz" not in x)
                   or "a store is unreachable" in x or '"level": "error"' in x or "Traceback" in x]
        raise AssertionError(f"5xx under load: {statuses}\n" + "\n".join(telling[-20:]))
    for _ in range(4):
        body = _call(base, "GET", f"/v1/users/{result.example_user}/recommendations?k=10", key)[1]
        assert body["degraded"] is False and len(body["items"]) == 10 and body["source"] == "personalised"
        body = _call(base, "GET", f"/v1/users/{reporter}/recommendations?k=10", key)[1]
        assert body["crisis"] is True, "the risk window opened during the outage was restored"
        body = _call(base, "GET", f"/v1/users/{minor}/recommendations?k=20", key)[1]
        assert body["degraded"] is False and not _topics({}, body) & set(opted_out)
        body = _call(base, "GET", f"/v1/users/{completer}/recommendations?k=20", key)[1]
        assert not {i["resource_id"] for i in body["items"]} & set(done)
    print(f"recovered in {elapsed:.2f} s; statuses {dict(statuses)}")


def test_strictest_rules_when_neither_redis_nor_sql_can_answer(deployment) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    """No store answers: crisis lines kept first, heavy and adult content out."""
    from serving.app import create_app

    services, result = deployment
    app = create_app(services.settings)
    st = app.extensions["solace"]
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {result.api_key}"
    assert client.get(f"/v1/users/{result.example_user}/recommendations?k=5").status_code == 200

    from sqlalchemy import create_engine

    from serving.fallback import SqlFallback
    from storage.events import EventStore
    from storage.profiles import ProfileStore

    # a real client to a port nothing listens on, and a real engine to a closed port
    st.redis = redis.Redis(port=_free_port(), socket_connect_timeout=1)
    dead_sql = create_engine(f"postgresql+psycopg://127.0.0.1:{_free_port()}/none", connect_args={"connect_timeout": 1})
    st.fallback = SqlFallback(dead_sql, EventStore(dead_sql), ProfileStore(dead_sql), {"complete": 4.0}, 3600)
    body = client.get(f"/v1/users/{result.example_user}/recommendations?k=10").json
    assert body["degraded"] is True and body["crisis"] is True
    assert body["items"][0]["is_crisis_resource"]
    view = st.cache.view
    heavy = {view.cards[r]["id"] for r in range(len(view.cards)) if view.cards[r] and view.heavy[r]}  # type: ignore[index]  # only cards that exist are read
    assert not {i["resource_id"] for i in body["items"] if not i["is_crisis_resource"]} & heavy


def test_a_worker_started_during_an_outage_answers_from_the_registry_and_sql(deployment) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    """gunicorn may start a worker while Redis is down (a crash, a timeout, a reload): it
    reads the active version from the registry and the catalog from SQL, never a 503."""
    from serving.app import create_app

    services, result = deployment
    settings = services.settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{_free_port()}/0"})
    client = create_app(settings).test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {result.api_key}"
    response = client.get(f"/v1/users/{result.example_user}/recommendations?k=5")
    assert response.status_code == 200, response.json
    body = response.json
    assert body["degraded"] is True and body["model_version"] == result.version
    assert len(body["items"]) == 5 and body["source"] == "personalised"
    assert client.get("/readyz").status_code == 503
