"""The durable event log: what users did with what was suggested, per tenant.

Events are deduplicated by ``(tenant, event_id)`` so a platform may retry a batch safely.
Only opaque ids, types and times are stored: never free text about a user. Times are
stored in UTC (SQLite keeps no zone, so an offset would otherwise be lost).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
    and_,
    delete,
    func,
    not_,
    select,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from solace.db import metadata

if TYPE_CHECKING:
    from solace.config import Settings

EVENT_TYPES = ("impression", "click", "start", "complete", "like", "dismiss", "report")

events_table = Table(
    "events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("tenant", String(64), nullable=False),
    Column("event_id", String(128), nullable=False),
    Column("user_id", String(128), nullable=False),
    Column("resource_id", String(80), nullable=False),
    Column("type", String(16), nullable=False),
    Column("ts", DateTime(timezone=True), nullable=False, index=True),
    Column("recommendation_id", String(64), nullable=True),
    Column("source", String(16), nullable=False, default="api"),
    UniqueConstraint("tenant", "event_id", name="uq_events_tenant_event"),
)
Index("ix_events_tenant_user", events_table.c.tenant, events_table.c.user_id)


@dataclass(frozen=True)
class TimeWindow:
    """The times an event may carry: from ``earliest`` (``SOLACE_EVENT_EARLIEST``) to
    ``latest``, the clock plus ``SOLACE_EVENT_MAX_FUTURE_SECONDS``. The API refuses
    events outside it; training skips stored rows outside it, which only a direct write
    to SQL (or an older Solace) can have put there."""

    earliest: datetime
    latest: datetime

    @classmethod
    def bounds(cls, earliest: datetime, max_future_seconds: float, now: datetime | None = None) -> "TimeWindow":
        now = now or datetime.now(UTC)
        return cls(as_utc(earliest), now + timedelta(seconds=max_future_seconds))

    @classmethod
    def of(cls, settings: Settings, now: datetime | None = None) -> "TimeWindow":
        """The window a deployment's settings give, at ``now``."""
        return cls.bounds(settings.event_earliest, settings.event_max_future_seconds, now)

    def contains(self, when: datetime) -> bool:
        return self.earliest <= as_utc(when) <= self.latest


def as_utc(when: datetime) -> datetime:
    """A zoned time in UTC; a time without zone (SQLite reads them back so) is UTC."""
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


@dataclass(frozen=True)
class Event:
    event_id: str
    user_id: str
    resource_id: str
    type: str
    timestamp: datetime
    recommendation_id: str | None = None


class EventStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _insert(self):  # type: ignore[no-untyped-def]
        if self.engine.dialect.name == "postgresql":
            return pg_insert(events_table)
        return sqlite_insert(events_table)

    def add_batch(self, tenant: str, events: Sequence[Event], source: str = "api") -> set[str]:
        """Store new events; returns the ids that were new (duplicates are skipped)."""
        if not events:
            return set()
        ids = [e.event_id for e in events]
        with self.engine.begin() as conn:
            existing = set(
                conn.execute(
                    select(events_table.c.event_id).where(
                        events_table.c.tenant == tenant, events_table.c.event_id.in_(ids)
                    )
                ).scalars()
            )
            rows = []
            seen: set[str] = set()
            for e in events:
                if e.event_id in existing or e.event_id in seen:
                    continue
                seen.add(e.event_id)
                rows.append(
                    {
                        "tenant": tenant, "event_id": e.event_id, "user_id": e.user_id,
                        "resource_id": e.resource_id, "type": e.type, "ts": as_utc(e.timestamp),
                        "recommendation_id": e.recommendation_id, "source": source,
                    }
                )
            if rows:
                stmt = self._insert().on_conflict_do_nothing(index_elements=["tenant", "event_id"])
                conn.execute(stmt, rows)
        return seen

    def iter_events(
        self, tenant: str | None = None, window: TimeWindow | None = None,
    ) -> Iterator[tuple[str, Event]]:
        """All events (of one tenant, or all), oldest first, as ``(tenant, event)``;
        with ``window``, only those whose time lies in it (the filter is in SQL, so a row
        whose time the driver cannot even read, such as a year before 1, is never read)."""
        query = select(events_table).order_by(events_table.c.ts, events_table.c.id)
        if tenant is not None:
            query = query.where(events_table.c.tenant == tenant)
        if window is not None:
            query = query.where(self._inside(window))
        with self.engine.connect() as conn:
            for row in conn.execute(query):
                yield row.tenant, Event(
                    row.event_id, row.user_id, row.resource_id, row.type, row.ts,
                    row.recommendation_id,
                )

    @staticmethod
    def _inside(window: TimeWindow):  # type: ignore[no-untyped-def]
        return and_(events_table.c.ts >= window.earliest, events_table.c.ts <= window.latest)

    def ids_outside(self, window: TimeWindow, tenant: str | None = None) -> list[tuple[str, str]]:
        """``(tenant, event_id)`` of the stored events whose time lies outside ``window``
        (or is not a time at all, in SQLite): only ids are read, never the bad value, and
        never the user id."""
        query = (select(events_table.c.tenant, events_table.c.event_id)
                 .where(not_(self._inside(window))).order_by(events_table.c.id))
        if tenant is not None:
            query = query.where(events_table.c.tenant == tenant)
        with self.engine.connect() as conn:
            return [(r.tenant, r.event_id) for r in conn.execute(query)]

    def unknown_resources(self, resource_ids: Sequence[str]) -> set[str]:
        """The ids among ``resource_ids`` that name no resource of the catalog (any status:
        an event about a resource retired since it was shown is still a real event)."""
        from content_catalog.store import resources_table  # the catalog imports nothing of ours

        wanted = set(resource_ids)
        if not wanted:
            return set()
        with self.engine.connect() as conn:
            known = set(conn.execute(
                select(resources_table.c.id).where(resources_table.c.id.in_(sorted(wanted)))
            ).scalars())
        return wanted - known

    def user_events(self, tenant: str, user_id: str) -> list[Event]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(events_table)
                .where(events_table.c.tenant == tenant, events_table.c.user_id == user_id)
                .order_by(events_table.c.ts)
            ).all()
        return [
            Event(r.event_id, r.user_id, r.resource_id, r.type, r.ts, r.recommendation_id)
            for r in rows
        ]

    def count(self, tenant: str | None = None) -> int:
        query = select(func.count()).select_from(events_table)
        if tenant is not None:
            query = query.where(events_table.c.tenant == tenant)
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def erase_user(self, tenant: str, user_id: str) -> int:
        with self.engine.begin() as conn:
            result = conn.execute(
                delete(events_table).where(
                    events_table.c.tenant == tenant, events_table.c.user_id == user_id
                )
            )
        return int(result.rowcount or 0)

    def delete_source(self, tenant: str, source: str) -> int:
        with self.engine.begin() as conn:
            result = conn.execute(
                delete(events_table).where(
                    events_table.c.tenant == tenant, events_table.c.source == source
                )
            )
        return int(result.rowcount or 0)

    def users_with_events_before(self, cutoff: datetime) -> set[tuple[str, str]]:
        """``(tenant, user)`` pairs a purge at ``cutoff`` would touch."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(events_table.c.tenant, events_table.c.user_id)
                .where(events_table.c.ts < cutoff).distinct()
            ).all()
        return {(r.tenant, r.user_id) for r in rows}

    def events_of(self, tenant: str, users: Sequence[str]) -> list[Event]:
        if not users:
            return []
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(events_table)
                .where(events_table.c.tenant == tenant, events_table.c.user_id.in_(list(users)))
                .order_by(events_table.c.ts)
            ).all()
        return [Event(r.event_id, r.user_id, r.resource_id, r.type, r.ts, r.recommendation_id) for r in rows]

    def purge_before(self, cutoff: datetime) -> int:
        with self.engine.begin() as conn:
            result = conn.execute(delete(events_table).where(events_table.c.ts < cutoff))
        return int(result.rowcount or 0)


def log_position(engine: Engine) -> int:
    """How far the event log has grown (its largest row id): a version records it when
    trained, so serving knows which users acted after it."""
    with engine.connect() as conn:
        return int(conn.execute(select(func.max(events_table.c.id))).scalar() or 0)


def users_after(engine: Engine, position: int) -> set[tuple[str, str]]:
    """``(tenant, user)`` of every event stored after ``position`` of the log."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(events_table.c.tenant, events_table.c.user_id).where(events_table.c.id > position).distinct()
        ).all()
    return {(r.tenant, r.user_id) for r in rows}
