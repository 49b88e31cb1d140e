"""SQL storage of the catalog, with an audit record for every change.

The store keeps each resource's current record and, separately, its last approved record:
serving reads only the approved one, so an edit under review never reaches users before a
reviewer approves it. Every write (editor API, command line, import, seed) goes through
this store, which applies the one ownership and review rule of ``content_catalog.access``
inside the write's transaction.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import insert, select, text, update

from content_catalog.access import (
    WORKFLOW_FIELDS,
    Actor,
    CatalogError,
    Forbidden,
    NotFound,
    StaleVersion,
    WorkflowError,
    approved_record,
    authorise,
    changed_records,
    check_comment,
    check_four_eyes,
    last_content_author,
    record_with_status,
    same_content,
)
from content_catalog.reading import REVIEW_ACTIONS, CatalogReader, QueueEntry, StoredResource
from content_catalog.schema import Resource
from core.taxonomy import ReviewStatus
from storage.tables import audit_table, resources_table

__all__ = [
    "Actor", "CatalogError", "CatalogStore", "Forbidden", "ImportRejected", "NotFound",
    "QueueEntry", "StaleVersion", "StoredResource", "WorkflowError",
]

# the PostgreSQL advisory lock that serialises catalog writes (any constant unique to Solace)
CATALOG_WRITE_LOCK = 0x50_4C_41_43_45_01


def _dump(resource: Resource) -> dict[str, Any]:
    return resource.model_dump(mode="json", exclude_none=True)


def content_hash(data: dict[str, Any]) -> str:
    """Hash of what the resource says (not of its workflow state)."""
    payload = {k: v for k, v in data.items() if k not in WORKFLOW_FIELDS}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def _diff(old: dict[str, Any], new: dict[str, Any]) -> dict[str, dict[str, Any]]:
    keys = set(old) | set(new)
    return {
        k: {"old": old.get(k), "new": new.get(k)} for k in sorted(keys) if old.get(k) != new.get(k)
    }


def _is_crisis(row: Any) -> bool:
    return bool(row.data.get("is_crisis_resource")) or bool(
        row.approved_data and row.approved_data.get("is_crisis_resource")
    )


class ImportRejected(CatalogError):
    """Some records may not be imported by this caller; nothing was written.

    ``problems`` holds ``(index in the input, field, reason)`` for every refused record.
    """

    def __init__(self, problems: list[tuple[int, str, str]]) -> None:
        self.problems = problems
        super().__init__(f"{len(problems)} record(s) refused; nothing was imported")


class CatalogStore(CatalogReader):
    """Reads (:class:`CatalogReader`) and writes resources; every write is authorised and
    audited in one transaction."""

    def _audit(
        self, conn: Any, resource_id: str, actor: Actor, action: str,
        changes: dict[str, Any], now: datetime, comment: str | None = None,
    ) -> None:
        conn.execute(
            insert(audit_table).values(
                resource_id=resource_id, actor=actor.name, action=action, at=now, changes=changes,
                comment=comment,
            )
        )

    def _row(self, conn: Any, resource_id: str) -> Any:
        """The row, locked for this transaction on PostgreSQL (SQLite locks the database).

        Every write reads its row here first, so this is also where catalog writes are
        serialised on PostgreSQL (one transaction-scoped advisory lock, taken before the
        row lock): audit ids, the catalog feed's change sequence, then become visible in
        the order they were assigned, and a feed cursor never skips a change committed
        late (``content_catalog.feed``). Catalog writes are editors' actions, rare enough
        for one at a time."""
        query = select(resources_table).where(resources_table.c.id == resource_id)
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CATALOG_WRITE_LOCK})
            query = query.with_for_update()
        return conn.execute(query).first()

    def _checked_row(
        self, conn: Any, resource_id: str, actor: Actor, action: str,
        expected_version: int | None,
    ) -> Any:
        """The locked row after the ownership rule and the optimistic-concurrency check."""
        row = self._row(conn, resource_id)
        if row is None:
            raise NotFound(f"no resource {resource_id!r}")
        authorise(actor, resource_id, row.owner_tenant, action, _is_crisis(row))
        if expected_version is not None and row.version != expected_version:
            entries = self._history(conn, resource_id)
            made = [n for n, e in enumerate(entries) if e["version"] == expected_version]
            since = entries[made[0] + 1:] if made else entries
            who = "; ".join(
                f"{e['actor']} ({e['action']}{': ' + ', '.join(e['changes']) if e['changes'] else ''})"
                for e in since
            )
            raise StaleVersion(
                f"{resource_id} is at version {row.version}, not {expected_version}: "
                f"changed meanwhile by {who or 'someone'}; reload and retry", since,
            )
        return row

    def _insert(
        self, conn: Any, data: dict[str, Any], actor: Actor, now: datetime,
        approved: dict[str, Any] | None, action: str,
    ) -> None:
        conn.execute(
            insert(resources_table).values(
                id=data["id"], type=data["type"], status=data["status"], data=data,
                approved_data=approved, content_hash=content_hash(data), version=1,
                created_at=now, updated_at=now, owner_tenant=actor.new_owner,
            )
        )
        self._audit(conn, data["id"], actor, action, _diff({}, data), now)

    def _write(
        self, conn: Any, row: Any, data: dict[str, Any], actor: Actor, action: str,
        now: datetime, approved: dict[str, Any] | None | bool = False, comment: str | None = None,
    ) -> StoredResource:
        """Store the new current record; ``approved`` is the new approved record, None to
        clear it, or False to keep the one being served."""
        values: dict[str, Any] = {
            "status": data["status"], "type": data["type"], "data": data,
            "content_hash": content_hash(data), "version": row.version + 1, "updated_at": now,
        }
        if approved is not False:
            values["approved_data"] = approved
        conn.execute(update(resources_table).where(resources_table.c.id == row.id).values(**values))
        changes = _diff(row.data, data)
        if approved is not False and approved != row.approved_data:
            changes["approved_version"] = {"old": row.approved_data is not None, "new": approved is not None}
        self._audit(conn, row.id, actor, action, changes, now, comment)
        new_approved = values.get("approved_data", row.approved_data)
        return StoredResource(
            Resource.model_validate(data), row.version + 1,
            Resource.model_validate(new_approved) if new_approved else None, now, row.owner_tenant,
        )

    def create(self, resource: Resource, actor: Actor) -> StoredResource:
        """A new resource always starts as a draft owned by the caller's side (global staff:
        the global catalog; a tenant's staff: that tenant), whatever the record says."""
        data = record_with_status(_dump(resource), ReviewStatus.DRAFT)
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            if self._row(conn, resource.id) is not None:
                raise WorkflowError(f"a resource with id {resource.id!r} already exists")
            self._insert(conn, data, actor, now, None, "create")
        stored = self.get(resource.id)
        assert stored is not None
        return stored

    def import_resources(
        self, resources: Iterable[Resource], actor: Actor, approve: bool = False, *, trusted: bool = False,
    ) -> dict[str, int]:
        """Insert or update by id, all or nothing, under the same rule as every edit.

        A file's ``status``, ``reviewed_by`` and ``reviewed_at`` are never trusted: new
        records land as drafts, changed ones follow the review rule, unchanged ones are left
        untouched. A caller with the reviewer right who asks (``approve``) approves, as
        themselves, the records whose draft or text in review someone else wrote and the
        file repeats (``approved``); what this import itself writes they may not approve
        (four eyes), so their new and changed records go to review instead
        (``sent_to_review``), for a second reviewer (``approve_pending``). ``trusted``
        approves the import's own records too: only for the packaged seed catalog, never
        reachable from the command line or the API. Every refused record is listed in
        :class:`ImportRejected`.
        """
        if approve and not actor.reviewer:
            raise Forbidden("approving an import needs the reviewer right")
        counts = {"created": 0, "updated": 0, "unchanged": 0, "approved": 0, "sent_to_review": 0}
        problems: list[tuple[int, str, str]] = []
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            for index, resource in enumerate(resources):
                try:
                    for outcome in self._import_one(conn, resource, actor, approve, trusted, now):
                        counts[outcome] += 1
                except CatalogError as exc:
                    problems.append((index, "id", str(exc)))
            if problems:
                raise ImportRejected(problems)  # inside the transaction: it rolls back
        return counts

    def _import_one(
        self, conn: Any, resource: Resource, actor: Actor, approve: bool, trusted: bool, now: datetime,
    ) -> tuple[str, ...]:
        own_status = ReviewStatus.IN_REVIEW if approve and not trusted else ReviewStatus.DRAFT
        new = record_with_status(_dump(resource), own_status)
        row = self._row(conn, resource.id)
        if row is None:
            approved = approved_record(new, actor, now) if approve and trusted else None
            self._insert(conn, approved or new, actor, now, approved, "create")
            return ("created",) if approved or not approve else ("created", "sent_to_review")
        if not actor.sees(row.owner_tenant):
            raise WorkflowError(f"a resource with id {resource.id!r} already exists")
        if same_content(row.data, new):
            pending = row.status in (ReviewStatus.DRAFT, ReviewStatus.IN_REVIEW)
            if not (approve and pending):
                return ("unchanged",)
            authorise(actor, row.id, row.owner_tenant, "approve", _is_crisis(row))
            if not trusted:
                check_four_eyes(actor, row.id, last_content_author(self._history(conn, row.id)))
            data = approved_record(row.data, actor, now)
            self._write(conn, row, data, actor, "approve", now, data)
            return ("approved",)
        authorise(actor, row.id, row.owner_tenant, "edit", _is_crisis(row))
        data, still_approved = changed_records(row.id, row.status, row.data, new, actor, now, approve and trusted)
        if approve and not trusted and data.get("status") == ReviewStatus.DRAFT:
            data = record_with_status(data, ReviewStatus.IN_REVIEW)  # asked to approve: it waits for a second reviewer
        self._write(conn, row, data, actor, "update", now, still_approved)
        sent = approve and not trusted and data.get("status") == ReviewStatus.IN_REVIEW
        return ("updated", "sent_to_review") if sent else ("updated",)

    def approve_pending(self, actor: Actor, comment: str | None = None) -> tuple[list[str], dict[str, str]]:
        """Approve, as ``actor``, every resource in review they may approve: the second pair
        of eyes on an import. Returns the approved ids and, for each one left in review,
        why (their own change, a crisis line without the right...): each approval is its
        own transaction under the same rule as a single review."""
        if not actor.reviewer:
            raise Forbidden("approving needs the reviewer right")
        done: list[str] = []
        left: dict[str, str] = {}
        for entry in self.review_queue(viewer=actor):
            rid = entry.stored.resource.id
            try:
                self.review(rid, "approve", actor, expected_version=entry.stored.version, comment=comment)
                done.append(rid)
            except CatalogError as exc:
                left[rid] = str(exc)
        return done, left

    def edit(
        self, resource_id: str, changes: dict[str, Any], actor: Actor,
        expected_version: int | None = None,
    ) -> StoredResource:
        """Apply a partial change. A change to anything users read or reach sends an
        approved resource back to review; its last approved version keeps serving."""
        forbidden = ({"id"} | WORKFLOW_FIELDS) & set(changes)
        if forbidden:
            raise WorkflowError(
                f"{sorted(forbidden)[0]} cannot be edited; use the review workflow"
            )
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            row = self._checked_row(conn, resource_id, actor, "edit", expected_version)
            if row.status == ReviewStatus.RETIRED:
                raise WorkflowError(f"{resource_id} is retired: un-retire it before editing it")
            merged = {**row.data, **changes}
            merged = {k: v for k, v in merged.items() if v is not None}
            resource = Resource.model_validate(merged)  # raises ValidationError naming the field
            new = _dump(resource)
            if new == row.data:
                return self._row_to_stored(row)
            data, approved = changed_records(row.id, row.status, row.data, new, actor, now)
            return self._write(conn, row, data, actor, "edit", now, approved)

    def mark_checked(
        self, resource_id: str, actor: Actor, on: date, expected_version: int | None = None,
    ) -> StoredResource:
        """A reviewer confirmed that a crisis line's contact still works: its
        ``contact.checked_on`` becomes ``on`` in the current and the served version alike.
        Nothing a user reads changes, so it needs no second review; it is audited."""
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            row = self._checked_row(conn, resource_id, actor, "checked", expected_version)
            if not _is_crisis(row) or "contact" not in row.data:
                raise WorkflowError(f"{resource_id} is not a crisis line with a contact")
            if row.status == ReviewStatus.RETIRED:
                raise WorkflowError(f"{resource_id} is retired: un-retire it before confirming it")

            def checked(record: dict[str, Any]) -> dict[str, Any]:
                return {**record, "contact": {**record["contact"], "checked_on": on.isoformat()}}

            data = checked(row.data)
            approved: dict[str, Any] | bool = False
            if row.approved_data and "contact" in row.approved_data:
                approved = checked(row.approved_data)
            return self._write(conn, row, data, actor, "checked", now, approved)

    def review(
        self, resource_id: str, action: str, actor: Actor,
        expected_version: int | None = None, comment: str | None = None,
    ) -> StoredResource:
        """``submit`` (draft -> in_review), ``approve`` (in_review -> approved, reviewers
        only, never the person who last changed the content), ``reject`` (in_review ->
        draft, reviewers only, with a comment saying what to change), ``retire`` (any ->
        retired; a crisis line needs the reviewer right), ``unretire`` (retired ->
        in_review: served again only once a reviewer approves it). ``comment`` goes to
        the audit trail."""
        if action not in REVIEW_ACTIONS:
            raise WorkflowError(f"unknown review action {action!r}; use {', '.join(REVIEW_ACTIONS)}")
        comment = check_comment(action, comment)
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            row = self._checked_row(conn, resource_id, actor, action, expected_version)
            if action == "approve":
                check_four_eyes(actor, resource_id, last_content_author(self._history(conn, resource_id)))
            status = row.status
            approved: dict[str, Any] | None | bool = False
            if action == "submit":
                if status != ReviewStatus.DRAFT:
                    raise WorkflowError(f"only a draft can be submitted; {resource_id} is {status}")
                data = record_with_status(row.data, ReviewStatus.IN_REVIEW)
            elif action == "approve":
                if status != ReviewStatus.IN_REVIEW:
                    raise WorkflowError(f"only a resource in review can be approved; {resource_id} is {status}")
                data = approved = approved_record(row.data, actor, now)
            elif action == "reject":
                if status != ReviewStatus.IN_REVIEW:
                    raise WorkflowError(f"only a resource in review can be rejected; {resource_id} is {status}")
                data = record_with_status(row.data, ReviewStatus.DRAFT)
            elif action == "retire":
                if status == ReviewStatus.RETIRED:
                    raise WorkflowError(f"{resource_id} is already retired")
                data = record_with_status(row.data, ReviewStatus.RETIRED)
            else:
                if status != ReviewStatus.RETIRED:
                    raise WorkflowError(f"only a retired resource can be un-retired; {resource_id} is {status}")
                # the text approved before retirement is not served again without a new review
                data, approved = record_with_status(row.data, ReviewStatus.IN_REVIEW), None
            return self._write(conn, row, data, actor, action, now, approved, comment)
