"""Reading the catalog: what serving, the API, the console and training may see.

Split from the writes (``content_catalog.store``) so that the one ownership and review
rule of every write stays in a module of its own; :class:`CatalogStore` has both.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, or_, select

from content_catalog.access import Actor, last_content_author
from content_catalog.schema import Resource
from core.taxonomy import ReviewStatus
from storage.tables import audit_table, resources_table


REVIEW_ACTIONS = ("submit", "approve", "reject", "retire", "unretire")
# the audit actions of the store's writes, each of which makes a new version
STORE_ACTIONS = frozenset({"create", "update", "edit", "checked", *REVIEW_ACTIONS})


def aware(value: datetime) -> datetime:
    # SQLite hands back naive datetimes for timezone-aware columns
    return value if value.tzinfo else value.replace(tzinfo=UTC)



@dataclass(frozen=True)
class QueueEntry:
    """A resource waiting for review: since when, sent by whom, and who last wrote it
    (that person may not approve it)."""

    stored: StoredResource
    waiting_since: datetime
    sent_by: str
    author: str | None


@dataclass(frozen=True)
class StoredResource:
    resource: Resource
    version: int
    approved: Resource | None
    updated_at: datetime
    owner_tenant: str | None = None


class CatalogReader:
    """The catalog's queries; every one respects the viewer's tenant where it takes one."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _row_to_stored(self, row: Any) -> StoredResource:
        approved = Resource.model_validate(row.approved_data) if row.approved_data else None
        return StoredResource(
            resource=Resource.model_validate(row.data), version=row.version,
            approved=approved, updated_at=row.updated_at, owner_tenant=row.owner_tenant,
        )

    @staticmethod
    def _visible(query: Any, viewer: Actor | None) -> Any:
        if viewer is None or viewer.tenant is None:
            return query
        owner = resources_table.c.owner_tenant
        return query.where(or_(owner.is_(None), owner == viewer.tenant))

    def get(self, resource_id: str, viewer: Actor | None = None) -> StoredResource | None:
        """The resource, or None when it does not exist or ``viewer`` may not see it."""
        query = select(resources_table).where(resources_table.c.id == resource_id)
        with self.engine.connect() as conn:
            row = conn.execute(self._visible(query, viewer)).first()
        return self._row_to_stored(row) if row else None

    def iter_all(self, viewer: Actor | None = None) -> Iterator[StoredResource]:
        query = self._visible(select(resources_table).order_by(resources_table.c.id), viewer)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        for row in rows:
            yield self._row_to_stored(row)

    def servable_for(self, ids: Sequence[str], tenant: str) -> dict[str, Resource]:
        """The approved, non-retired version of each id a tenant's users may be served
        (the global catalog and the tenant's own): never a draft, never another tenant's."""
        if not ids:
            return {}
        t = resources_table.c
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(t.id, t.approved_data, t.status, t.owner_tenant)
                .where(t.id.in_(list(ids)), t.approved_data.is_not(None))
            ).all()
        return {r.id: Resource.model_validate(r.approved_data) for r in rows
                if r.status != "retired" and r.owner_tenant in (None, tenant)}

    def servable_with_owners(self) -> list[tuple[Resource, str | None]]:
        """The last approved version of every non-retired resource, with its owner tenant."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(resources_table.c.approved_data, resources_table.c.status,
                       resources_table.c.owner_tenant)
                .where(resources_table.c.approved_data.is_not(None))
                .order_by(resources_table.c.id)
            ).all()
        return [
            (Resource.model_validate(approved), owner)
            for approved, status, owner in rows if status != ReviewStatus.RETIRED
        ]

    def servable(self) -> list[Resource]:
        """The last approved version of every resource that is not retired."""
        return [r for r, _owner in self.servable_with_owners()]

    def page(
        self, offset: int = 0, limit: int = 50, rtype: str | None = None,
        status: str | None = None, topic: str | None = None, viewer: Actor | None = None,
    ) -> tuple[list[StoredResource], int]:
        """A page of the resources ``viewer`` sees, in id order, with the total that match."""
        query = select(resources_table).order_by(resources_table.c.id)
        if rtype:
            query = query.where(resources_table.c.type == rtype)
        if status:
            query = query.where(resources_table.c.status == status)
        with self.engine.connect() as conn:
            rows = conn.execute(self._visible(query, viewer)).all()
        found = [self._row_to_stored(r) for r in rows]
        if topic:
            found = [s for s in found if topic in s.resource.topics]
        return found[offset : offset + limit], len(found)

    def search(
        self, viewer: Actor | None = None, text: str | None = None, rtype: str | None = None,
        topic: str | None = None, status: str | None = None, locale: str | None = None,
    ) -> list[StoredResource]:
        """The resources ``viewer`` sees that match every filter given: words in the id,
        title or summary; type; topic; status; a language (``en`` matches ``en-GB``)."""
        words = (text or "").lower().split()
        language = (locale or "").split("-")[0].lower()
        found = []
        for stored in self.page(0, 1_000_000, rtype, status, topic, viewer)[0]:
            r = stored.resource
            haystack = f"{r.id} {r.title} {r.summary}".lower()
            if words and not all(w in haystack for w in words):
                continue
            if language and not any(loc.split("-")[0].lower() == language for loc in r.locales):
                continue
            found.append(stored)
        return found

    def history(self, resource_id: str) -> list[dict[str, Any]]:
        """The audit trail, oldest first: who, when, what (each changed field's old and
        new value), the reviewer's comment, and the version each entry made."""
        with self.engine.connect() as conn:
            return self._history(conn, resource_id)

    @staticmethod
    def _history(conn: Any, resource_id: str) -> list[dict[str, Any]]:
        rows = conn.execute(
            select(audit_table)
            .where(audit_table.c.resource_id == resource_id)
            .order_by(audit_table.c.id)
        ).all()
        # every write of this store makes one entry and one version, so its n-th entry made
        # version n; entries other modules add (a flag raised on the evidence) make none
        out, version = [], 0
        for r in rows:
            made = None
            if r.action in STORE_ACTIONS:
                version += 1
                made = version
            out.append({"at": aware(r.at).isoformat(), "actor": r.actor, "action": r.action,
                        "changes": r.changes, "comment": r.comment, "version": made})
        return out

    def last_author(self, resource_id: str) -> str | None:
        """Who last changed the resource's content: the one person who may not approve it."""
        return last_content_author(self.history(resource_id))

    def review_queue(self, viewer: Actor | None = None) -> list[QueueEntry]:
        """What waits for review, longest waiting first."""
        query = self._visible(select(resources_table).where(resources_table.c.status == ReviewStatus.IN_REVIEW)
                              .order_by(resources_table.c.id), viewer)
        out = []
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
            for row in rows:
                entries = self._history(conn, row.id)
                sent = next((e for e in reversed(entries)
                             if (e["changes"].get("status") or {}).get("new") == ReviewStatus.IN_REVIEW), None)
                since = datetime.fromisoformat(sent["at"]) if sent else aware(row.updated_at)
                out.append(QueueEntry(self._row_to_stored(row), since, sent["actor"] if sent else "",
                                      last_content_author(entries)))
        return sorted(out, key=lambda e: (e.waiting_since, e.stored.resource.id))

    def count(self) -> int:
        with self.engine.connect() as conn:
            return len(conn.execute(select(resources_table.c.id)).all())

    # ------------------------------------------------------------------ writing
