"""Rebuilding Redis from SQL and the model registry: Redis is a cache, SQL the truth.

Everything serving reads from Redis can be derived again: the active model version (from
the registry), the servable catalog and its embeddings, tenant policies, profiles and
opt-outs, the seen sets and interactions (from the event log), open risk windows (from
recent distress events, counted from each event's own time) and the folded-in vectors of
users the model was not trained on or who acted after it was trained. A marker key,
written last, says a Redis holds the restored state; a serving worker that finds it
missing (Redis emptied, restarted without persistence, or a new server) starts this
restore by itself, and ``/readyz`` answers 503 until the marker is back.
"""

from __future__ import annotations

import json
import logging
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime

import redis

from core.events import DISTRESS_TYPES, TimeWindow

from content_catalog.publish import publish_catalog
from content_catalog.store import CatalogStore
from serving.model_cache import load_model
from serving.publish import publish_version
from serving.user_vectors import fold_in_from_redis
from storage.events import users_after
from storage.keyspace import Keyspace
from storage.stores import Stores
from storage.tenants import all_policies
from storage.user_state import erase_user_state, sync_user_state

log = logging.getLogger("solace.recovery")

Say = Callable[[str], None]


def restore_redis(services: Stores, say: Say | None = None) -> dict[str, int]:
    """Write everything serving needs into Redis from SQL and the registry; returns counts.

    Safe to run while serving (every write is idempotent and the active pointer is set
    only once its version is complete) and safe to run twice.
    """
    say = say or (lambda _m: None)
    client, keys = services.redis, services.keys
    counts: dict[str, int] = {}
    started = time.monotonic()

    counts["catalog_resources"] = publish_catalog(CatalogStore(services.engine), client, keys)
    policies = all_policies(services.engine)
    pipe = client.pipeline(transaction=False)
    for tenant, policy in policies.items():
        pipe.set(keys.tenant_policy(tenant), json.dumps(policy))
    pipe.execute()
    counts["tenant_policies"] = len(policies)

    registry = services.registry
    active = registry.active()
    if active is not None:
        try:
            version = registry.get(active)
        except (KeyError, FileNotFoundError, ValueError):
            log.error("the registry's active version cannot be read; serving has no model until one is published")
            version = None
        if version is not None:
            tenants = registry.published_for(active)
            published = publish_version(version, client, keys, tenant=next(iter(tenants), None))
            counts["model_users"] = published["users"]

    from serving.experiments import ExperimentService

    counts["experiments"] = ExperimentService(services.engine, client, keys, registry).restore()

    events_by_tenant: dict[str, list] = defaultdict(list)
    for tenant, event in services.events.iter_events(window=TimeWindow.of(services.settings)):
        events_by_tenant[tenant].append(event)
    profiles_by_tenant: dict[str, dict] = defaultdict(dict)
    for (tenant, user), profile in services.profiles.all().items():
        profiles_by_tenant[tenant][user] = profile
    users = 0
    for tenant in sorted(set(events_by_tenant) | set(profiles_by_tenant)):
        users += sync_user_state(client, keys, tenant, events_by_tenant[tenant], profiles_by_tenant[tenant])
    counts["users"] = users
    counts["risk_windows"] = restore_risk_windows(
        client, keys, events_by_tenant, services.settings.risk_window_hours * 3600
    )
    if active is not None:
        counts["folded_in"] = refold_users(services, active, events_by_tenant)
    mark_restored(services)
    say(f"restored Redis from SQL and the registry in {time.monotonic() - started:.1f} s: "
        + ", ".join(f"{k} {v}" for k, v in counts.items()))
    return counts


def mark_restored(services: Stores) -> None:
    """Say that this Redis holds the whole state SQL and the registry imply."""
    services.redis.set(services.keys.restored, datetime.now(UTC).isoformat())


def restore_risk_windows(
    client: redis.Redis, keys: Keyspace, events_by_tenant: dict[str, list], window_seconds: float,
) -> int:
    """Re-open each risk window a distress event opened, for the time it has left."""
    if window_seconds <= 0:
        return 0
    now = datetime.now(UTC)
    latest: dict[tuple[str, str], datetime] = {}
    for tenant, events in events_by_tenant.items():
        for e in events:
            if e.type not in DISTRESS_TYPES:
                continue
            ts = e.timestamp if e.timestamp.tzinfo else e.timestamp.replace(tzinfo=UTC)
            key = (tenant, e.user_id)
            if key not in latest or ts > latest[key]:
                latest[key] = ts
    pipe = client.pipeline(transaction=False)
    opened = 0
    for (tenant, user), ts in latest.items():
        left = window_seconds - (now - min(ts, now)).total_seconds()
        if left >= 1:
            pipe.set(keys.user_risk(tenant, user), 1, ex=int(left))
            opened += 1
    pipe.execute()
    return opened




def refold_users(services: Stores, version: str, events_by_tenant: dict[str, list] | None = None) -> int:
    """Fold in, under ``version``, every user who has positive interactions but either no
    trained vector in it or events stored after it was trained (its manifest's
    ``event_log_position``; event times are the platform's and cannot tell): what serving
    had folded in before the version was (re)published, rolled back to or restored."""
    client, keys = services.redis, services.keys
    model = load_model(client, keys, version)
    if model is None:
        return 0
    mv = services.registry.get(version)
    position = mv.manifest.get("event_log_position")
    acted_since = users_after(services.engine, int(position)) if position is not None else set()
    if events_by_tenant is None:
        events_by_tenant = defaultdict(list)
        for tenant, event in services.events.iter_events(window=TimeWindow.of(services.settings)):
            events_by_tenant[tenant].append(event)
    folded = 0
    for tenant, events in events_by_tenant.items():
        users = sorted({e.user_id for e in events})
        present: set[str] = set()
        for start in range(0, len(users), 10_000):
            batch = users[start:start + 10_000]
            pipe = client.pipeline(transaction=False)
            for user in batch:
                pipe.hexists(*keys.user_vector(tenant, version, user))
            present.update(user for user, there in zip(batch, pipe.execute()) if there)
        recent = {user for t, user in acted_since if t == tenant}
        todo = sorted((set(users) - present) | (recent & set(users)))
        for start in range(0, len(todo), 2_000):
            folded += fold_in_from_redis(client, keys, model, tenant, todo[start : start + 2_000])
    return folded


def resync_users(services: Stores, users: set[tuple[str, str]], erasures: set[tuple[str, str]]) -> None:
    """Bring Redis up to SQL for users whose events or profile arrived, or who were erased,
    while Redis was unreachable (it came back with its old state, so no full restore ran)."""
    client, keys = services.redis, services.keys
    for tenant, user in sorted(erasures):
        erase_user_state(client, keys, tenant, user)
    by_tenant: dict[str, set[str]] = defaultdict(set)
    for tenant, user in users - erasures:
        by_tenant[tenant].add(user)
    active = services.registry.active()
    for tenant, members in by_tenant.items():
        events = services.events.events_of(tenant, sorted(members), TimeWindow.of(services.settings))
        profiles = {u: p for u in members if (p := services.profiles.get(tenant, u)) is not None}
        sync_user_state(client, keys, tenant, events, profiles, also_users=members)
        restore_risk_windows(client, keys, {tenant: events}, services.settings.risk_window_hours * 3600)
        if active is not None:
            model = load_model(client, keys, active)
            if model is not None:
                fold_in_from_redis(client, keys, model, tenant, members)
