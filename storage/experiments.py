"""Experiments in SQL (the truth) and the running one of each tenant in Redis (what serving
reads in its per-request pipeline), with the per-arm counters kept at ingestion.

A tenant runs at most one experiment at a time, so every user of the tenant is in exactly
one arm of it and no answer has to choose between experiments.
"""

from __future__ import annotations

import builtins

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import redis
from sqlalchemy import Connection, Engine, and_, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from core.events import Event
from core.experiments import arm_of
from storage.keyspace import Keyspace
from storage.outcomes import COUNTER_OF
from storage.tables import (
    OUTCOME_COUNTERS,
    experiment_rollups_table,
    experiment_users_table,
    experiments_table,
)

STATUSES = ("draft", "running", "stopped")


@dataclass(frozen=True)
class ArmSpec:
    name: str
    model_version: str
    share: float
    # a policy variant: a stricter cap on one topic's share of the list (None: the tenant's)
    max_topic_share: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "model_version": self.model_version, "share": self.share,
                "max_topic_share": self.max_topic_share}

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> "ArmSpec":
        return cls(str(raw["name"]), str(raw["model_version"]), float(raw["share"]),
                   None if raw.get("max_topic_share") is None else float(raw["max_topic_share"]))


@dataclass
class ExperimentRecord:
    tenant: str
    experiment_id: str
    arms: list[ArmSpec]
    status: str = "draft"
    description: str = ""
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    started_at: datetime | None = None
    stopped_at: datetime | None = None
    stop_reason: str | None = None

    @property
    def control(self) -> ArmSpec:
        return self.arms[0]

    def plan_json(self) -> str:
        """What serving needs of a running experiment (no dates, no description)."""
        return json.dumps({"experiment_id": self.experiment_id, "arms": [a.to_json() for a in self.arms]})


def _record(row: Any) -> ExperimentRecord:
    return ExperimentRecord(
        tenant=row.tenant, experiment_id=row.experiment_id, arms=[ArmSpec.from_json(a) for a in row.arms],
        status=row.status, description=row.description, created_at=row.created_at, started_at=row.started_at,
        stopped_at=row.stopped_at, stop_reason=row.stop_reason,
    )


class ExperimentConflict(ValueError):
    """The experiment's state does not allow this now (already running, stopped, ...)."""


class ExperimentExists(ExperimentConflict):
    pass


class ExperimentStore:
    def __init__(self, engine: Engine, client: redis.Redis | None = None, keys: Keyspace | None = None) -> None:
        self.engine = engine
        self.client = client
        self.keys = keys

    def create(self, record: ExperimentRecord) -> ExperimentRecord:
        try:
            with self.engine.begin() as conn:
                conn.execute(experiments_table.insert().values(
                    tenant=record.tenant, experiment_id=record.experiment_id, description=record.description,
                    arms=[a.to_json() for a in record.arms], status="draft", created_at=record.created_at))
        except IntegrityError:
            raise ExperimentExists(f"experiment {record.experiment_id!r} already exists for this tenant") from None
        return record

    def get(self, tenant: str, experiment_id: str) -> ExperimentRecord | None:
        t = experiments_table.c
        with self.engine.connect() as conn:
            row = conn.execute(select(experiments_table).where(
                t.tenant == tenant, t.experiment_id == experiment_id)).first()
        return None if row is None else _record(row)

    def list(self, tenant: str | None = None, status: str | None = None) -> builtins.list[ExperimentRecord]:
        t = experiments_table.c
        query = select(experiments_table).order_by(t.created_at, t.experiment_id)
        if tenant is not None:
            query = query.where(t.tenant == tenant)
        if status is not None:
            query = query.where(t.status == status)
        with self.engine.connect() as conn:
            return [_record(r) for r in conn.execute(query)]

    def transition(self, tenant: str, experiment_id: str, from_status: str, to_status: str,
                   reason: str | None = None) -> bool:
        """Move the experiment from ``from_status`` only (False if it is no longer there:
        two stops at once, or a guardrail that stopped it first)."""
        t = experiments_table.c
        now = datetime.now(UTC)
        values: dict[str, Any] = {"status": to_status}
        if to_status == "running":
            values["started_at"] = now
            values["stop_reason"] = None
        if to_status == "stopped":
            values["stopped_at"] = now
            values["stop_reason"] = reason
        with self.engine.begin() as conn:
            if to_status == "running":
                running = conn.execute(select(t.experiment_id).where(
                    t.tenant == tenant, t.status == "running", t.experiment_id != experiment_id)).first()
                if running is not None:
                    raise ExperimentConflict(f"experiment {running.experiment_id!r} is running for this tenant: "
                                     "stop it first (a tenant runs one experiment at a time)")
            done = conn.execute(update(experiments_table).where(
                t.tenant == tenant, t.experiment_id == experiment_id, t.status == from_status).values(**values))
            return bool(done.rowcount)

    # --- what serving reads ---
    def publish_running(self, tenant: str) -> None:
        """Copy the tenant's running experiment (or its absence) to Redis, and the model
        versions every running experiment needs to the pinned set (never removed by a
        publish of a newer version)."""
        assert self.client is not None and self.keys is not None
        running = self.list(tenant, "running")
        if running:
            self.client.set(self.keys.tenant_experiment(tenant), running[0].plan_json())
        else:
            self.client.delete(self.keys.tenant_experiment(tenant))
        self.publish_pinned()

    def publish_pinned(self) -> None:
        assert self.client is not None and self.keys is not None
        versions = {a.model_version for e in self.list(status="running") for a in e.arms}
        pipe = self.client.pipeline(transaction=True)
        pipe.delete(self.keys.pinned_versions)
        if versions:
            pipe.sadd(self.keys.pinned_versions, *sorted(versions))
        pipe.execute()

    def restore_all(self) -> int:
        """Every tenant's running experiment back into an emptied Redis."""
        tenants = {e.tenant for e in self.list(status="running")}
        for tenant in tenants:
            self.publish_running(tenant)
        self.publish_pinned()
        return len(tenants)

    # --- results ---
    def counts(self, tenant: str, experiment_id: str) -> dict[str, dict[str, int]]:
        t = experiment_rollups_table.c
        with self.engine.connect() as conn:
            rows = conn.execute(select(experiment_rollups_table).where(
                t.tenant == tenant, t.experiment_id == experiment_id))
            return {r.arm: {c: int(getattr(r, c)) for c in OUTCOME_COUNTERS} for r in rows}

    def users_per_arm(self, tenant: str, experiment_id: str) -> dict[str, int]:
        t = experiment_users_table.c
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.arm, func.count()).where(
                t.tenant == tenant, t.experiment_id == experiment_id).group_by(t.arm))
            return {arm: int(n) for arm, n in rows}

    def erase_user(self, tenant: str, user_id: str) -> int:
        """A user's arm memberships (the per-arm counters hold no ids)."""
        t = experiment_users_table.c
        with self.engine.begin() as conn:
            return int(conn.execute(delete(experiment_users_table).where(
                t.tenant == tenant, t.user_id == user_id)).rowcount)

    def arms_of_user(self, tenant: str, user_id: str) -> builtins.list[dict[str, str]]:
        t = experiment_users_table.c
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.experiment_id, t.arm).where(t.tenant == tenant, t.user_id == user_id))
            return [{"experiment_id": r.experiment_id, "arm": r.arm} for r in rows]


def add_to_experiment_rollups(conn: Connection, tenant: str, events: Sequence[Event]) -> set[str]:
    """Credit new events to the arm their recommendation id names, if that arm belongs to a
    running experiment of ``tenant`` (inside the caller's transaction). Returns the
    experiments credited."""
    tagged = [(tag, e) for e in events if (tag := arm_of(e.recommendation_id)) is not None]
    if not tagged:
        return set()
    t = experiments_table.c
    wanted = sorted({exp for (exp, _), _ in tagged})
    running = {r.experiment_id: {a["name"] for a in r.arms} for r in conn.execute(
        select(t.experiment_id, t.arms).where(and_(t.tenant == tenant, t.status == "running",
                                                   t.experiment_id.in_(wanted))))}
    rollups: dict[tuple[str, str], dict[str, Any]] = {}
    members: dict[tuple[str, str], dict[str, Any]] = {}
    for (exp, arm), e in tagged:
        if arm not in running.get(exp, ()):
            continue
        members.setdefault((exp, e.user_id), {"tenant": tenant, "experiment_id": exp, "user_id": e.user_id, "arm": arm})
        counter = COUNTER_OF.get(e.type)
        if counter is None:
            continue
        row = rollups.setdefault((exp, arm), {"tenant": tenant, "experiment_id": exp, "arm": arm,
                                              **{c: 0 for c in OUTCOME_COUNTERS}})
        row[counter] += 1
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    if rollups:
        stmt = insert(experiment_rollups_table)
        c = experiment_rollups_table.c
        stmt = stmt.on_conflict_do_update(
            index_elements=[c.tenant, c.experiment_id, c.arm],
            set_={n: getattr(c, n) + getattr(stmt.excluded, n) for n in OUTCOME_COUNTERS})
        conn.execute(stmt, list(rollups.values()))
    if members:
        conn.execute(insert(experiment_users_table).on_conflict_do_nothing(), list(members.values()))
    return {exp for exp, _ in rollups} | {exp for exp, _ in members}
