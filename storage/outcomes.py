"""Outcome rollups: per resource, tenant and day, incremented in the same transaction that
stores the events, so analytics sums a few rows per resource instead of recounting the log.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from core.events import DISTRESS_TYPES, Event, as_utc
from storage.tables import OUTCOME_COUNTERS, events_table, outcome_rollups_table, outcome_totals_table

# Which counter each event type increments (types not listed count nothing).
COUNTER_OF = {
    "impression": "impressions", "click": "clicks", "start": "starts", "complete": "completions",
    "helpful": "helpful", "not_helpful": "not_helpful", "dismiss": "dismissals",
    "content_report": "content_reports", **{t: "distress" for t in DISTRESS_TYPES},
}


def rollup_rows(tenant: str, events: Iterable[Event], mood: dict[str, int] | None = None) -> list[dict[str, Any]]:
    """One row of increments per (resource, day) of a batch; ``mood`` gives the change of
    each ``mood_after`` event that has a ``mood_before`` to pair with (by event id)."""
    rows: dict[tuple[str, date], dict[str, Any]] = {}
    mood = mood or {}
    for e in events:
        counter = COUNTER_OF.get(e.type)
        change = mood.get(e.event_id) if e.type == "mood_after" else None
        if counter is None and change is None:
            continue
        day = as_utc(e.timestamp).date()
        row = rows.setdefault((e.resource_id, day), {"tenant": tenant, "resource_id": e.resource_id, "day": day,
                                                      **{c: 0 for c in OUTCOME_COUNTERS}})
        if counter is not None:
            row[counter] += 1
        if change is not None:
            row["mood_n"] += 1
            row["mood_sum"] += change
            row["mood_sq"] += change * change
    return list(rows.values())


def mood_changes(conn: Connection, tenant: str, events: Sequence[Event]) -> dict[str, int]:
    """After minus before, for each new ``mood_after`` whose user checked in before on the
    same resource (the latest ``mood_before`` not after it, of the same recommendation when
    the after names one). Runs after the batch's rows are inserted, so a before in the same
    batch counts."""
    out: dict[str, int] = {}
    t = events_table.c
    for e in events:
        if e.type != "mood_after" or e.score is None:
            continue
        query = (select(t.score).where(t.tenant == tenant, t.user_id == e.user_id, t.resource_id == e.resource_id,
                                       t.type == "mood_before", t.ts <= as_utc(e.timestamp))
                 .order_by(t.ts.desc(), t.id.desc()).limit(1))
        if e.recommendation_id is not None:
            query = query.where(t.recommendation_id == e.recommendation_id)
        before = conn.execute(query).scalar()
        if before is not None:
            out[e.event_id] = int(e.score) - int(before)
    return out


def add_to_rollups(conn: Connection, tenant: str, events: Sequence[Event]) -> None:
    """Increment the rollups by a batch of new events (inside the caller's transaction)."""
    rows = rollup_rows(tenant, events, mood_changes(conn, tenant, events))
    if not rows:
        return
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    stmt = insert(outcome_rollups_table)
    t = outcome_rollups_table.c
    stmt = stmt.on_conflict_do_update(
        index_elements=[t.tenant, t.resource_id, t.day],
        set_={c: getattr(t, c) + getattr(stmt.excluded, c) for c in OUTCOME_COUNTERS},
    )
    conn.execute(stmt, rows)
    per_resource: dict[str, dict[str, Any]] = {}
    for row in rows:
        total = per_resource.setdefault(row["resource_id"], {"tenant": tenant, "resource_id": row["resource_id"],
                                                             **{c: 0 for c in OUTCOME_COUNTERS}})
        for c in OUTCOME_COUNTERS:
            total[c] += row[c]
    totals_stmt = insert(outcome_totals_table)
    tt = outcome_totals_table.c
    totals_stmt = totals_stmt.on_conflict_do_update(
        index_elements=[tt.tenant, tt.resource_id],
        set_={c: getattr(tt, c) + getattr(totals_stmt.excluded, c) for c in OUTCOME_COUNTERS},
    )
    conn.execute(totals_stmt, list(per_resource.values()))


class OutcomeStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def counts(self, tenant: str | None = None, since: date | None = None,
               until: date | None = None, resource_ids: Iterable[str] | None = None) -> dict[str, dict[str, int]]:
        """Summed counters per resource over the days of a window (all tenants: None; no
        window: all time, from the totals, a row per tenant and resource)."""
        table: Any = outcome_rollups_table if (since is not None or until is not None) else outcome_totals_table
        t = table.c
        query = select(t.resource_id, *(func.sum(getattr(t, c)).label(c) for c in OUTCOME_COUNTERS)).group_by(t.resource_id)
        if tenant is not None:
            query = query.where(t.tenant == tenant)
        if since is not None:
            query = query.where(t.day >= since)
        if until is not None:
            query = query.where(t.day <= until)
        if resource_ids is not None:
            query = query.where(t.resource_id.in_(sorted(set(resource_ids))))
        with self.engine.connect() as conn:
            return {r.resource_id: {c: int(getattr(r, c) or 0) for c in OUTCOME_COUNTERS} for r in conn.execute(query)}

    def erase_resource_counts_of(self, tenant: str) -> int:
        """Rollups hold no user ids (erasure needs nothing here); a tenant that leaves may
        have its rows removed."""
        with self.engine.begin() as conn:
            conn.execute(outcome_totals_table.delete().where(outcome_totals_table.c.tenant == tenant))
            return int(conn.execute(outcome_rollups_table.delete().where(outcome_rollups_table.c.tenant == tenant)).rowcount)


def totals(per_resource: dict[str, dict[str, int]]) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for counts in per_resource.values():
        for k, v in counts.items():
            out[k] += v
    return dict(out)
