"""Everything a worker needs, built once by the app factory and reached through the app."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import redis
from flask import current_app
from sqlalchemy import Engine

from content_catalog.store import CatalogStore
from core.config import Settings
from analytics.experiments import ExperimentPlan
from serving.experiments import ExperimentService, GuardrailWatch
from serving.fallback import SqlFallback
from serving.metrics import ServingMetrics
from serving.model_cache import ServingCache
from serving.rate_limit import Window
from storage.api_keys import ApiKey, KeyStore
from storage.events import EventStore
from storage.keyspace import Keyspace
from storage.profiles import ProfileStore
from storage.registry import ModelRegistry


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


class RedisGuardLike(Protocol):
    def trigger(self) -> None: ...


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
    # the per-key limits the recommendation routes count in their own pipeline (empty: none)
    rate_windows: tuple[Window, ...] = ()
    fallback: SqlFallback | None = None
    # starts a rebuild of Redis from SQL (set by the app factory; None in bare tests)
    guard: "RedisGuardLike | None" = None
    # users whose SQL changed while Redis could not take it: resynced once it answers again
    pending: set[tuple[str, str]] = field(default_factory=set)
    pending_erasures: set[tuple[str, str]] = field(default_factory=set)
    _pending_lock: threading.Lock = field(default_factory=threading.Lock)
    resync: "Callable[[set[tuple[str, str]], set[tuple[str, str]]], None] | None" = None
    # each tenant's running experiment as last read from Redis: the raw JSON and its plan
    plans: dict[str, tuple[bytes, ExperimentPlan]] = field(default_factory=dict)
    # (guardrails and flag_watch take their interval from settings.outcome_check_seconds)
    guardrails: GuardrailWatch = field(default_factory=GuardrailWatch)
    # resources whose outcome flags were checked lately (at most once per interval each)
    flag_watch: GuardrailWatch = field(default_factory=GuardrailWatch)

    def __post_init__(self) -> None:
        self.guardrails.interval = self.flag_watch.interval = self.settings.outcome_check_seconds

    def experiments(self) -> ExperimentService:
        return ExperimentService(self.engine, self.redis, self.keys, ModelRegistry(self.settings.models_dir))

    def plan_of(self, tenant: str, raw: bytes | None) -> ExperimentPlan | None:
        """The tenant's plan from the JSON just read (parsed once per change, per worker)."""
        if raw is None:
            self.plans.pop(tenant, None)
            return None
        held = self.plans.get(tenant)
        if held is not None and held[0] == raw:
            return held[1]
        plan = ExperimentPlan.from_json(raw)
        self.plans[tenant] = (raw, plan)
        return plan

    def redis_lost(self) -> None:
        """Redis answered without Solace's state: start the rebuild (at most one at a time)."""
        if self.guard is not None:
            self.guard.trigger()

    def redis_back(self) -> None:
        """Redis answers with its state: apply what changed in SQL while it could not."""
        if not (self.pending or self.pending_erasures) or self.resync is None:
            return
        if not self._pending_lock.acquire(blocking=False):
            return
        try:
            users, erasures = set(self.pending), set(self.pending_erasures)
            self.resync(users, erasures)
            self.pending -= users
            self.pending_erasures -= erasures
        except Exception:  # noqa: BLE001 - retried at the next request
            logging.getLogger("solace.serving").warning("resyncing users after a Redis outage failed; will retry")
        finally:
            self._pending_lock.release()

    def changed_without_redis(self, tenant: str, users: set[str], erased: bool = False) -> None:
        """Remember users whose SQL state moved on while Redis was unreachable."""
        with self._pending_lock:
            for user in users:
                (self.pending_erasures if erased else self.pending).add((tenant, user))
                if self.fallback is not None:
                    self.fallback.forget_user(tenant, user)


def state() -> ServingState:
    return current_app.extensions["solace"]
