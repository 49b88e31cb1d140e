"""A user's state when Redis cannot give it: read from SQL, or else the strictest rules.

Redis is a cache of what SQL holds. While it is unreachable, or emptied and not yet
rebuilt, a request must never be answered less safely than usual: the user's opt-outs,
age band, seen sets and open risk window come from SQL (kept a few seconds in the worker,
so an outage does not move the whole load onto the database). When SQL cannot answer
either, the strictest rules apply: crisis lines are kept at the top, heavy and adult
content is left out, and the tenant's exclusions are the last ones this worker read.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import redis
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from core.events import DISTRESS_TYPES, TimeWindow
from storage.events import EventStore
from storage.experiments import ArmSpec
from storage.keyspace import Keyspace
from storage.user_state import derive_states
from storage.profiles import ProfileStore
from storage.tenants import TenantPolicyStore

log = logging.getLogger("solace.serving")



@dataclass
class UserState:
    vector: np.ndarray | None = None
    completed: set[str] = field(default_factory=set)
    dismissed: set[str] = field(default_factory=set)
    interactions: dict[str, float] = field(default_factory=dict)
    profile: dict[str, Any] = field(default_factory=dict)  # as JSON
    risk: bool = False
    cached: bytes | None = None
    # the field the user's cached list for this request lives under (serving.recommend)
    list_key: str | None = None
    tenant_policy: dict[str, Any] = field(default_factory=dict)  # as JSON
    # set when nothing about the user could be read: the strictest rules apply
    strict: bool = False
    # the running experiment the user is in and their arm of it (None: the active model)
    experiment: str | None = None
    arm: ArmSpec | None = None


class _TtlCache:
    def __init__(self, ttl: float, size: int) -> None:
        self.ttl, self.size = ttl, size
        self._data: OrderedDict[object, tuple[float, object]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: object) -> object | None:
        hit = self._data.get(key)
        if hit is None or time.monotonic() - hit[0] > self.ttl:
            return None
        return hit[1]

    def put(self, key: object, value: object) -> None:
        with self._lock:
            self._data[key] = (time.monotonic(), value)
            self._data.move_to_end(key)
            while len(self._data) > self.size:
                self._data.popitem(last=False)

    def drop(self, key: object) -> None:
        with self._lock:
            self._data.pop(key, None)


class SqlFallback:
    """User and tenant state from SQL, for answers given without Redis."""

    def __init__(self, engine: Engine, events: EventStore, profiles: ProfileStore,
                 weights: dict[str, float], risk_window_seconds: float, ttl: float = 5.0,
                 window: "Callable[[], TimeWindow] | None" = None) -> None:
        self.events = events
        self.window = window  # the event times a deployment accepts (rows outside are skipped)
        self.profiles = profiles
        self.policies = TenantPolicyStore(engine, None, None)  # type: ignore[arg-type]  # reads only
        self.weights = weights
        self.risk_window_seconds = risk_window_seconds
        self._users = _TtlCache(ttl, 50_000)
        self._tenants = _TtlCache(ttl, 10_000)
        # the last policy read per tenant, kept for when SQL is unreachable too
        self._last_policy: dict[str, dict[str, Any]] = {}

    def tenant_policy(self, tenant: str) -> dict[str, Any]:
        cached = self._tenants.get(tenant)
        if cached is not None:
            return cached  # type: ignore[return-value]  # the cache holds what this method stored
        try:
            policy = self.policies.get(tenant).model_dump(mode="json")
        except SQLAlchemyError:
            log.warning("SQL unreachable while Redis is too: the last known tenant policy applies")
            return self._last_policy.get(tenant, {})
        self._last_policy[tenant] = policy
        self._tenants.put(tenant, policy)
        return policy

    def remember_policy(self, tenant: str, policy: dict[str, Any]) -> None:
        """Policies read from Redis in normal operation, kept for a double outage."""
        if self._last_policy.get(tenant) != policy:
            self._last_policy[tenant] = policy

    def forget_user(self, tenant: str, user: str) -> None:
        """Drop a user's cached state (new events or a new profile arrived)."""
        self._users.drop((tenant, user))

    def user_state(self, tenant: str, user: str | None) -> UserState:
        state = UserState(tenant_policy=self.tenant_policy(tenant))
        if user is None:
            return state
        cached = self._users.get((tenant, user))
        if cached is not None:
            hit: UserState = cached  # type: ignore[assignment]  # the cache holds what user_state stored
            return UserState(completed=hit.completed, dismissed=hit.dismissed, interactions=hit.interactions,
                             profile=hit.profile, risk=hit.risk, tenant_policy=state.tenant_policy)
        try:
            profile = self.profiles.get(tenant, user)
            events = self.events.user_events(tenant, user, self.window() if self.window else None)
        except SQLAlchemyError:
            log.warning("SQL unreachable while Redis is too: the strictest rules apply")
            state.strict = True
            return state
        if profile is not None:
            state.profile = profile.to_json()
        derived = derive_states(events, self.weights).get(user)
        if derived is not None:
            state.completed, state.dismissed, state.interactions = (
                derived.completed, derived.dismissed, derived.interactions)
        now = datetime.now(UTC)
        for e in events:
            if e.type in DISTRESS_TYPES:
                ts = e.timestamp if e.timestamp.tzinfo else e.timestamp.replace(tzinfo=UTC)
                if (now - ts).total_seconds() < self.risk_window_seconds:
                    state.risk = True
        self._users.put((tenant, user), state)
        return state


class RedisGuard:
    """Starts a restore when serving finds the marker missing, at most one at a time across
    workers (a lock in Redis) and never more often than ``min_interval`` per worker."""

    def __init__(self, restore: Callable[[], object], client: redis.Redis, keys: Keyspace,
                 min_interval: float = 2.0) -> None:
        self._restore = restore
        self._client = client
        self._keys = keys
        self._min_interval = min_interval
        self._last = 0.0
        self._running = False

    def trigger(self) -> None:
        import threading

        now = time.monotonic()
        if self._running or now - self._last < self._min_interval:
            return
        self._last = now
        self._running = True
        threading.Thread(target=self._run, name="solace-restore", daemon=True).start()

    def _run(self) -> None:
        try:
            if not self._client.set(self._keys.restore_lock, "1", nx=True, ex=120):
                return  # another worker is restoring
            try:
                if not self._client.exists(self._keys.restored):
                    self._restore()
            finally:
                self._client.delete(self._keys.restore_lock)
        except Exception:  # noqa: BLE001 - retried at the next request; logged without data
            log.exception("restoring Redis from SQL failed; retrying at the next request")
        finally:
            self._running = False
