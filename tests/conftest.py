"""Shared fixtures: the real Redis and PostgreSQL of the machine, a tmp SOLACE_HOME, and a
trained quick-start deployment built once per session.

Redis tests use their own database index and a key prefix unique to the run, and delete
their keys afterwards. Where a server is unreachable the tests skip with the reason,
except under CI=true, where an unreachable server fails the run.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

REDIS_URL = os.environ.get("SOLACE_TEST_REDIS_URL", "redis://127.0.0.1:6379/11")
POSTGRES_URL = os.environ.get("SOLACE_TEST_POSTGRES_URL", "postgresql://127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() == "true"
SHARED = Path(os.environ.get("SOLACE_SHARED", Path(__file__).resolve().parents[1] / ".." / "shared"))


def _unavailable(what: str, why: Exception) -> None:
    message = f"{what} unreachable ({why}); start it (see /work/.library/env) to run these tests"
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def redis_url() -> str:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        _unavailable(f"Redis at {REDIS_URL}", exc)
    return REDIS_URL


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh database on the PostgreSQL server, dropped at the end of the session."""
    import sqlalchemy as sa

    try:
        admin = sa.create_engine(POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://"),
                                 isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
        with admin.connect() as conn:
            name = f"solace_test_{uuid.uuid4().hex[:10]}"
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001
        _unavailable(f"PostgreSQL at {POSTGRES_URL}", exc)
    base = POSTGRES_URL.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    from storage.db import dispose_engines

    dispose_engines()
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def redis_prefix(redis_url: str) -> Iterator[str]:
    prefix = f"solace-test-{uuid.uuid4().hex[:12]}"
    yield prefix
    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(match=f"{prefix}:*", count=1000):
        client.delete(key)


def make_settings(home: Path, redis_url: str, prefix: str, database_url: str | None = None, **extra):  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    from core.config import Settings

    return Settings(home=home, redis_url=redis_url, redis_prefix=prefix,
                    database_url=database_url, **extra)


@pytest.fixture
def settings(tmp_path: Path, redis_url: str, redis_prefix: str):  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    return make_settings(tmp_path / "home", redis_url, redis_prefix)


@pytest.fixture(params=["sqlite", "postgres"])
def sql_engine(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    """An engine on SQLite and, in a second run of the test, on PostgreSQL."""
    from storage.db import get_engine

    if request.param == "sqlite":
        return get_engine(f"sqlite:///{tmp_path / 'solace.db'}")
    url = request.getfixturevalue("postgres_url")
    engine = get_engine(url)
    from storage.tables import metadata

    with engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(table.delete())
    return engine


@pytest.fixture(scope="session")
def encoder():  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    """The real packaged sentence encoder, loaded once per test session."""
    from core.encoder import get_encoder

    return get_encoder()


@pytest.fixture(scope="session")
def deployment(tmp_path_factory: pytest.TempPathFactory, redis_url: str, encoder):  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    """A quick start run once: seed catalog, simulated history, trained and published model."""
    from solace.quickstart import run_quickstart
    from solace.services import Services

    prefix = f"solace-test-{uuid.uuid4().hex[:12]}"
    settings = make_settings(tmp_path_factory.mktemp("deploy"), redis_url, prefix, cache_ttl_seconds=30)
    services = Services(settings)
    result = run_quickstart(services, n_users=300, say=lambda _m: None)
    yield services, result
    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(match=f"{prefix}:*", count=1000):
        client.delete(key)


@pytest.fixture(scope="session")
def app_client(deployment):  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    from serving.app import create_app

    services, result = deployment
    app = create_app(services.settings)
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {result.api_key}"
    return client


def raw_http(base: str, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send bytes as they are (what an HTTP client library would refuse to send) and read
    one answer: status, headers (lower-case names) and the body its Content-Length names,
    or everything until the server closes."""
    import socket
    from urllib.parse import urlparse

    url = urlparse(base)
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
            head, sep, body = data.partition(b"\r\n\r\n")
            length = re.search(rb"(?im)^content-length:\s*(\d+)", head)
            if sep and length and len(body) >= int(length.group(1)):
                break
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, body


def stop_process(proc, timeout: float = 20) -> None:  # type: ignore[no-untyped-def]  # a subprocess.Popen
    """Ask a server the test started to stop; kill it if it does not within ``timeout``."""
    import subprocess

    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="session")
def live_server(deployment):  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    """``solace serve`` (gunicorn, one worker) on the quick-start deployment, over real
    HTTP: what a platform's client talks to. Yields the base URL and the demo API key."""
    yield from _live(deployment, "gunicorn")


@pytest.fixture(scope="session")
def live_granian(deployment):  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    """The same under ``solace serve --server granian`` (two workers)."""
    yield from _live(deployment, "granian", workers=2)


def _live(deployment, server: str, workers: int = 1):  # type: ignore[no-untyped-def]  # deployment is a fixture value
    import socket
    import subprocess
    import sys
    import time

    import requests

    services, result = deployment
    settings = services.settings
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOLACE_")}
    env.update(SOLACE_HOME=str(settings.home), SOLACE_REDIS_URL=str(settings.redis_url),
               SOLACE_REDIS_PREFIX=settings.redis_prefix, SOLACE_RATE_LIMIT="100000/minute",
               SOLACE_CACHE_TTL_SECONDS=str(settings.cache_ttl_seconds))
    if settings.database_url:
        env["SOLACE_DATABASE_URL"] = settings.database_url
    log_path = settings.home / f"live-{server}.log"  # a file, not a pipe: a full pipe would stall the server
    log = open(log_path, "w")  # noqa: SIM115 - closed when the server stops
    proc = subprocess.Popen([sys.executable, "-m", "solace.cli", "serve", "--port", str(port), "--workers", str(workers),
                             "--threads", "4", "--server", server], env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while True:
        try:
            if requests.get(f"{base}/readyz", timeout=5).status_code == 200:
                break
        except requests.RequestException:
            pass
        if proc.poll() is not None or time.time() > deadline:
            stop_process(proc)
            log.close()
            raise AssertionError(f"solace serve did not become ready: {log_path.read_text()[-3000:]}")
        time.sleep(0.5)
    try:
        yield base, result.api_key
    finally:
        stop_process(proc)
        log.close()


def staff_key(services, tenant: str, name: str, reviewer: bool = False, global_staff: bool = False,  # type: ignore[no-untyped-def]  # services is solace.services.Services
              role: str = "editor") -> str:
    """An editor key bound to a new staff account ``name`` (a reviewer or an author, of
    ``tenant`` or global staff): the catalog changes only through named people."""
    from storage.api_keys import Role
    from storage.staff import StaffRole

    services.staff.create(name, StaffRole.REVIEWER if reviewer else StaffRole.AUTHOR, "correct horse battery",
                          None if global_staff else tenant)
    return services.api_keys.create(tenant, Role(role), reviewer=reviewer, global_staff=global_staff, staff=name)[1]


def add_staff(engine, *names: str, reviewer: bool = False, tenant: str | None = None) -> None:  # type: ignore[no-untyped-def]  # a SQLAlchemy engine
    """Staff accounts that the command line's ``--actor`` may name."""
    from storage.staff import StaffRole, StaffStore

    store = StaffStore(engine)
    for name in names:
        store.create(name, StaffRole.REVIEWER if reviewer else StaffRole.AUTHOR, "correct horse battery", tenant)
