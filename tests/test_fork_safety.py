"""Each gunicorn worker opens its own database and Redis connections after the fork.

A socket inherited from the master would be shared by every worker: replies interleave
between processes (an API-key lookup could read another process's answer). The test
serves with two workers against the real PostgreSQL and Redis, loads them with requests
that all touch SQL, and then reads every process's open sockets from /proc.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
import pytest

from tests.conftest import stop_process

pytestmark = pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="needs Linux /proc")


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _remote_inodes(ports: set[int]) -> set[int]:
    """Inodes of established TCP sockets whose remote end is one of ``ports``."""
    inodes: set[int] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not Path(table).exists():
            continue
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            remote_port = int(fields[2].rsplit(":", 1)[1], 16)
            if fields[3] == "01" and remote_port in ports:  # 01: ESTABLISHED
                inodes.add(int(fields[9]))
    return inodes


def _socket_inodes(pid: int) -> set[int]:
    out: set[int] = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            out.add(int(target[8:-1]))
    return out


def _request(base: str, method: str, path: str, key: str, body: object = None) -> int:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method,
                                 headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def test_workers_share_no_database_or_redis_socket(postgres_url: str, redis_url: str, tmp_path: Path) -> None:
    from storage.api_keys import KeyStore, Role
    from storage.db import get_engine

    engine = get_engine(postgres_url)
    secret = KeyStore(engine).create("forksafe", Role.PLATFORM)[1]
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOLACE_")}
    env.update({"SOLACE_HOME": str(tmp_path / "home"), "SOLACE_DATABASE_URL": postgres_url,
                "SOLACE_REDIS_URL": redis_url, "SOLACE_REDIS_PREFIX": f"fork-{uuid.uuid4().hex[:8]}",
                "SOLACE_RATE_LIMIT": "100000/minute"})
    serve = subprocess.Popen([sys.executable, "-m", "solace.cli", "serve", "--port", str(port), "--workers", "2"],
                             env=env, stdout=subprocess.DEVNULL, stderr=(tmp_path / "serve.log").open("w"))
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                _request(base, "GET", "/healthz", secret)
                break
            except OSError:
                time.sleep(0.2)

        def one(n: int) -> int:
            if n % 2:
                return _request(base, "GET", "/v1/users/u1/recommendations", f"unknown-{uuid.uuid4().hex}")
            return _request(base, "PUT", f"/v1/users/fork-user-{n % 17}", secret, {"features": ["topic:sleep"]})

        with ThreadPoolExecutor(8) as pool:
            statuses = Counter(pool.map(one, range(400)))
        log = (tmp_path / "serve.log").read_text()
        assert set(statuses) <= {200, 401}, f"unexpected statuses under concurrency: {statuses}\n{log[-3000:]}"

        master = psutil.Process(serve.pid)
        workers = master.children()
        assert len(workers) == 2
        store_sockets = _remote_inodes({int(postgres_url.rsplit(":", 1)[1].split("/")[0]),
                                        int(redis_url.rsplit(":", 1)[1].split("/")[0])})
        held = {p.pid: _socket_inodes(p.pid) & store_sockets for p in [master, *workers]}
        for worker in workers:
            assert held[worker.pid], "a worker holds no connection of its own to the stores"
        pids = list(held)
        for i, a in enumerate(pids):
            for b in pids[i + 1:]:
                assert not held[a] & held[b], f"processes {a} and {b} share a database or Redis socket"
    finally:
        stop_process(serve)
