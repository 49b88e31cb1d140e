"""The durable event log: what users did with what was suggested, per tenant (the records
are ``core.events``).

Events are deduplicated by ``(tenant, event_id)`` so a platform may retry a batch safely.
Only opaque ids, types and times are stored: never free text about a user. Times are
stored in UTC (SQLite keeps no zone, so an offset would otherwise be lost).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, Engine, and_, delete, func, not_, select, or_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from core.events import Event, TimeWindow, as_utc
from storage.experiments import add_to_experiment_rollups
from storage.outcomes import add_to_rollups
from storage.tables import events_table, resources_table


class EventStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _insert(self):
        if self.engine.dialect.name == "postgresql":
            return pg_insert(events_table)
        return sqlite_insert(events_table)

    def add_batch(self, tenant: str, events: Sequence[Event], source: str = "api") -> set[str]:
        """Store new events; returns the ids that were new (duplicates are skipped).

        One statement (``ON CONFLICT DO NOTHING ... RETURNING``) both skips duplicates and
        says which events were new, so the transaction writes first and never has to turn a
        read into a write while another worker ingests (on SQLite that upgrade cannot wait
        for the other writer).
        """
        rows = []
        by_id: dict[str, Event] = {}
        for e in events:
            if e.event_id in by_id:
                continue  # the same event twice in one batch
            by_id[e.event_id] = e
            rows.append(
                {
                    "tenant": tenant, "event_id": e.event_id, "user_id": e.user_id,
                    "resource_id": e.resource_id, "type": e.type, "ts": as_utc(e.timestamp),
                    "recommendation_id": e.recommendation_id, "source": source, "reason": e.reason,
                    "score": e.score,
                }
            )
        if not rows:
            return set()
        stmt = (self._insert().on_conflict_do_nothing(index_elements=["tenant", "event_id"])
                .returning(events_table.c.event_id))
        with self.engine.begin() as conn:
            inserted = set(conn.execute(stmt, rows).scalars().all())
            new = [by_id[i] for i in by_id if i in inserted]
            add_to_rollups(conn, tenant, new)
            add_to_experiment_rollups(conn, tenant, new)
        return inserted

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
                    row.recommendation_id, row.reason, row.score,
                )

    @staticmethod
    def _inside(window: TimeWindow) -> ColumnElement[bool]:
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

    def unknown_resources(self, resource_ids: Sequence[str], tenant: str | None = None) -> set[str]:
        """The ids among ``resource_ids`` that name no resource of the catalog (any status:
        an event about a resource retired since it was shown is still a real event). With
        ``tenant``, another tenant's private resources count as unknown too: an answer must
        not tell a platform that they exist."""
        wanted = set(resource_ids)
        if not wanted:
            return set()
        query = select(resources_table.c.id).where(resources_table.c.id.in_(sorted(wanted)))
        if tenant is not None:
            query = query.where(or_(resources_table.c.owner_tenant.is_(None), resources_table.c.owner_tenant == tenant))
        with self.engine.connect() as conn:
            known = set(conn.execute(query).scalars())
        return wanted - known

    def user_events(self, tenant: str, user_id: str, window: TimeWindow | None = None) -> list[Event]:
        query = select(events_table).where(events_table.c.tenant == tenant, events_table.c.user_id == user_id)
        if window is not None:  # a row outside it (a direct SQL write) is not a time at all
            query = query.where(self._inside(window))
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(events_table.c.ts)).all()
        return [
            Event(r.event_id, r.user_id, r.resource_id, r.type, r.ts, r.recommendation_id, r.reason, r.score)
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

    def events_of(self, tenant: str, users: Sequence[str], window: TimeWindow | None = None) -> list[Event]:
        if not users:
            return []
        query = select(events_table).where(events_table.c.tenant == tenant, events_table.c.user_id.in_(list(users)))
        if window is not None:
            query = query.where(self._inside(window))
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(events_table.c.ts)).all()
        return [Event(r.event_id, r.user_id, r.resource_id, r.type, r.ts, r.recommendation_id, r.reason, r.score) for r in rows]

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
