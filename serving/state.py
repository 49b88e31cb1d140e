"""Everything a worker needs, built once by the app factory and reached through the app."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import redis
from flask import current_app
from sqlalchemy import Engine

from content_catalog.store import CatalogStore
from serving.model_cache import ServingCache
from serving.metrics import ServingMetrics
from solace.config import Settings
from solace.events import EventStore
from solace.keys import ApiKey, KeyStore
from solace.keyspace import Keyspace
from solace.users import ProfileStore


@dataclass
class KeyCache:
    """API keys seen recently, so authentication costs no SQL query per request.

    A revoked key stops working within ``ttl`` seconds in every worker.
    """

    store: KeyStore
    ttl: float = 10.0
    _entries: dict[str, tuple[float, ApiKey | None]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def authenticate(self, secret: str) -> ApiKey | None:
        now = time.monotonic()
        hit = self._entries.get(secret)
        if hit is not None and now - hit[0] < self.ttl:
            return hit[1]
        key = self.store.authenticate(secret)
        with self._lock:
            if len(self._entries) > 10_000:
                self._entries.clear()
            self._entries[secret] = (now, key)
        return key


@dataclass
class ServingState:
    settings: Settings
    engine: Engine
    redis: redis.Redis
    keys: Keyspace
    cache: ServingCache
    key_cache: KeyCache
    catalog: CatalogStore
    events: EventStore
    profiles: ProfileStore
    metrics: "ServingMetrics | None" = None


def state() -> ServingState:
    return current_app.extensions["solace"]  # type: ignore[no-any-return]
