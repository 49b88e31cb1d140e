"""Stateless replicas: two `solace serve` processes on different ports against the same
PostgreSQL and Redis answer alike, both serve a new version from the first request after
it is published, and one keeps answering when the other is killed.

Everything a worker holds (model, catalog view, key cache) is a copy of what Redis and SQL
hold, so any replica may take any request; docs/deployment.md puts a load balancer in front.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.conftest import POSTGRES_URL, make_settings, stop_process

pytestmark = pytest.mark.slow


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(base: str, path: str, key: str) -> tuple[int, Any]:
    req = urllib.request.Request(base + path, headers={"Authorization": f"Bearer {key}"})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


@pytest.fixture
def fresh_postgres() -> Any:
    """A database of this test's own (the session's shared one is wiped by other tests)."""
    import sqlalchemy as sa

    admin = sa.create_engine(POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://"),
                             isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
    name = f"solace_replicas_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield f"{POSTGRES_URL.rsplit('/', 1)[0]}/{name}"
    from storage.db import dispose_engines

    dispose_engines()
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_two_replicas_answer_alike_follow_a_publish_and_survive_each_other(
    fresh_postgres: str, redis_url: str, tmp_path: Path, encoder: Any,
) -> None:
    from solace.jobs import publish, train_from_store
    from solace.quickstart import run_quickstart
    from solace.services import Services

    prefix = f"replicas-{uuid.uuid4().hex[:8]}"
    settings = make_settings(tmp_path / "home", redis_url, prefix, database_url=fresh_postgres)
    services = Services(settings)
    result = run_quickstart(services, n_users=150, say=lambda _m: None)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOLACE_")}
    env.update({"SOLACE_HOME": str(settings.home), "SOLACE_DATABASE_URL": fresh_postgres,
                "SOLACE_REDIS_URL": redis_url, "SOLACE_REDIS_PREFIX": prefix, "HF_HUB_OFFLINE": "1",
                "SOLACE_RATE_LIMIT": "100000/minute", "SOLACE_CACHE_TTL_SECONDS": "0"})
    replicas = []
    for name in ("a", "b"):
        port = _free_port()
        proc = subprocess.Popen([sys.executable, "-m", "solace.cli", "serve", "--port", str(port), "--workers", "1"],
                                env=env, stdout=subprocess.DEVNULL, stderr=(tmp_path / f"{name}.log").open("w"))
        replicas.append((proc, f"http://127.0.0.1:{port}"))
    key = result.api_key
    try:
        for proc, base in replicas:
            deadline = time.monotonic() + 120
            while True:
                try:
                    if _get(base, "/readyz", key)[0] == 200:
                        break
                except OSError:
                    pass
                assert time.monotonic() < deadline, (tmp_path / "a.log").read_text()[-2000:]
                time.sleep(0.2)
        (_, a), (_, b) = replicas
        users = [result.example_user, "nobody-yet", *[f"sim-{n:05d}" for n in range(0, 150, 15)]]
        for user in users:
            sa_, body_a = _get(a, f"/v1/users/{user}/recommendations?k=10", key)
            sb_, body_b = _get(b, f"/v1/users/{user}/recommendations?k=10", key)
            assert sa_ == sb_ == 200
            assert body_a["model_version"] == body_b["model_version"] == result.version
            assert [i["resource_id"] for i in body_a["items"]] == [i["resource_id"] for i in body_b["items"]], user

        newer = train_from_store(services, "popularity").version.version
        publish(services, newer)
        for _proc, base in replicas:  # the first request after the publish, on each replica
            status, body = _get(base, f"/v1/users/{result.example_user}/recommendations?k=5", key)
            assert status == 200 and body["model_version"] == newer

        victim = psutil.Process(replicas[0][0].pid)
        for proc in [*victim.children(recursive=True), victim]:
            proc.send_signal(signal.SIGKILL)
        replicas[0][0].wait(timeout=10)
        statuses = [_get(b, f"/v1/users/{u}/recommendations?k=5", key)[0] for u in users * 2]
        assert statuses == [200] * len(statuses), statuses
    finally:
        for proc, _base in replicas:
            if proc.poll() is None:
                stop_process(proc)
        import redis as redis_lib

        client = redis_lib.Redis.from_url(redis_url)
        for k in client.scan_iter(match=f"{prefix}:*", count=1000):
            client.delete(k)
