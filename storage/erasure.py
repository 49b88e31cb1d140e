"""Erasure of one user of one tenant, everywhere Solace keeps anything about them.

The erasure log keeps only a salted hash of the id and the time, so an operator can show
that a request was honoured without keeping the id itself.
"""

from __future__ import annotations

from typing import Any

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

import redis
from sqlalchemy import Engine

from core.config import Settings
from core.ids import user_key
from core.events import as_utc
from storage.events import EventStore
from storage.keyspace import Keyspace
from storage.profiles import ProfileStore
from storage.redis_conn import text
from storage.registry import ModelRegistry, ModelVersion, trained_on_store
from storage.tables import erasure_log_table
from storage.experiments import ExperimentStore
from storage.user_state import erase_user_state


@dataclass(frozen=True)
class ErasureReport:
    events: int
    profiles: int
    redis_entries: int
    model_versions: int = 0  # stored model versions the user's vector was removed from
    experiment_memberships: int = 0  # arms of experiments the user was counted in


def salted_hash(settings: Settings, tenant: str, user_id: str) -> str:
    return hashlib.sha256(f"{settings.erasure_salt}\x00{tenant}\x00{user_id}".encode()).hexdigest()


def erase_user(
    settings: Settings, engine: Engine, client: redis.Redis, keys: Keyspace, tenant: str, user_id: str
) -> ErasureReport:
    """Erase ``user_id`` of ``tenant`` and nobody else.

    Every store is addressed by the exact id: SQL rows by equality (never ``LIKE``), Redis
    by exact key names and hash fields, the registry by exact membership. A prefix
    (``ali``), an extension (``alice:work``) or a glob look-alike (``a?ice``) of the id is
    another user and keeps everything.
    """
    events = EventStore(engine).erase_user(tenant, user_id)
    profiles = ProfileStore(engine).erase(tenant, user_id)
    memberships = ExperimentStore(engine).erase_user(tenant, user_id)
    registry = ModelRegistry(settings.models_dir)
    versions = {v.version for v in registry.list()}
    active = text(client.get(keys.active_model))
    if active:
        versions.add(active)
    entries = erase_user_state(client, keys, tenant, user_id, versions)

    def ids_in(version: ModelVersion) -> set[str]:
        # trained on the event log: tenant-scoped keys; trained on files: the raw id, but
        # only in versions whose users were published for this tenant
        doomed = {user_key(tenant, user_id)}
        if not trained_on_store(version) and tenant in registry.published_for(version.version):
            doomed.add(user_id)
        return doomed

    rewritten = registry.erase_users(ids_in)
    with engine.begin() as conn:
        conn.execute(
            erasure_log_table.insert().values(
                tenant=tenant, user_hash=salted_hash(settings, tenant, user_id), at=datetime.now(UTC)
            )
        )
    return ErasureReport(events, profiles, entries, rewritten, memberships)


def export_user(
    settings: Settings, engine: Engine, client: redis.Redis, keys: Keyspace, tenant: str, user_id: str
) -> dict[str, Any]:
    """Everything Solace holds about one user of one tenant, as JSON (GDPR articles 15
    and 20): profile, events, the state derived from them, and the stored model versions
    that hold a vector of theirs. Recorded in the log with a salted hash, never the id."""
    profile = ProfileStore(engine).get(tenant, user_id)
    events = EventStore(engine).user_events(tenant, user_id)
    registry = ModelRegistry(settings.models_dir)
    wanted = {user_key(tenant, user_id)}
    in_versions = []
    for version in registry.list():
        ids = set(version.ids().get("users", []))
        if wanted & ids or (user_id in ids and not trained_on_store(version)
                            and tenant in registry.published_for(version.version)):
            in_versions.append(version.version)
    derived: dict[str, Any] = {}
    try:
        pipe = client.pipeline(transaction=False)
        pipe.smembers(keys.user_completed(tenant, user_id))
        pipe.smembers(keys.user_dismissed(tenant, user_id))
        pipe.hgetall(keys.user_interactions(tenant, user_id))
        pipe.ttl(keys.user_risk(tenant, user_id))
        completed, dismissed, interactions, risk_ttl = pipe.execute()
        derived = {
            "completed": sorted(str(text(m)) for m in completed),
            "dismissed": sorted(str(text(m)) for m in dismissed),
            "interest_by_resource": {str(text(k)): float(v) for k, v in interactions.items()},
            "crisis_resources_first_for_seconds": max(int(risk_ttl), 0),
        }
    except redis.RedisError:
        derived = {"note": "the cache is unreachable; derived state is rebuilt from the events above"}
    with engine.begin() as conn:
        conn.execute(erasure_log_table.insert().values(
            tenant=tenant, user_hash=salted_hash(settings, tenant, user_id), at=datetime.now(UTC), action="export"))
    return {
        "user_id": user_id, "tenant": tenant,
        "profile": profile.to_json() if profile is not None else None,
        "events": [{"event_id": e.event_id, "resource_id": e.resource_id, "type": e.type,
                    "timestamp": as_utc(e.timestamp).isoformat(), "recommendation_id": e.recommendation_id,
                    "reason": e.reason, **({"score": e.score} if e.score is not None else {})} for e in events],
        "derived": derived,
        "model_versions": in_versions,
        "experiment_arms": ExperimentStore(engine).arms_of_user(tenant, user_id),
    }
