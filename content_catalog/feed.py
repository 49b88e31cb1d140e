"""The catalog feed: how a platform mirrors the catalog its users may be served, page by
page, and later fetches only what changed since its last cursor.

Position in the feed is a change sequence that already exists: every write to a resource
writes an audit record in the same transaction, and a resource's position is the id of its
latest audit record. Catalog writes are serialised (``CatalogStore._row`` takes one
transaction-scoped lock on PostgreSQL; SQLite has one writer at a time), so audit ids
become visible in the order they were assigned: a reader that has seen position ``n``
never later finds a change committed below ``n``. A resource edited while a platform pages
through moves to a higher position and is returned again later, so nothing is skipped; at
worst an entry comes twice, and applying an entry is idempotent.

A resource that changed and is no longer served (retired, or un-retired back to review) is
a tombstone: its id and ``deleted``, never its content. A resource that was never approved
(a draft) is not in the feed at all, not even as a tombstone, and another tenant's private
resources are filtered out in the query.

Cursors are opaque: the position, signed with a key derived from the deployment's secret
and bound to the tenant, so a cursor that was altered, truncated or issued to another
tenant is refused (:class:`CursorError`) rather than read.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, and_, func, or_, select

from content_catalog.schema import Resource
from core.taxonomy import ReviewStatus
from storage.tables import audit_table, resources_table

CURSOR_VERSION = 1
MAX_CURSOR_LENGTH = 400


class CursorError(ValueError):
    """A cursor this deployment did not issue to this tenant (or a damaged one)."""


@dataclass(frozen=True, order=True)
class FeedPosition:
    """After which change a page starts: (change sequence, resource id). Resources no audit
    record mentions (written outside the store) sort first, at sequence 0, by id."""

    seq: int
    resource_id: str


START = FeedPosition(-1, "")


@dataclass(frozen=True)
class FeedEntry:
    resource_id: str
    resource: Resource | None  # None: a tombstone (no longer served)


@dataclass(frozen=True)
class FeedPage:
    entries: list[FeedEntry]
    position: FeedPosition  # where the next page starts
    has_more: bool


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    if not text or not all(c.isalnum() or c in "-_" for c in text) or not text.isascii():
        raise CursorError("the cursor is not one this API issued")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise CursorError("the cursor is not one this API issued") from None


class CursorCodec:
    """Signs positions into opaque cursors and checks them back, per tenant."""

    def __init__(self, secret: str) -> None:
        # a key of its own, derived from the deployment's secret: a cursor's MAC says
        # nothing about the secret's other uses
        self._key = hmac.new(secret.encode(), b"solace/catalog-feed/cursor", hashlib.sha256).digest()

    def _mac(self, tenant: str, payload: bytes) -> bytes:
        return hmac.new(self._key, tenant.encode() + b"\x00" + payload, hashlib.sha256).digest()[:16]

    def encode(self, tenant: str, position: FeedPosition) -> str:
        payload = json.dumps([CURSOR_VERSION, position.seq, position.resource_id],
                             separators=(",", ":")).encode()
        return f"{_b64(payload)}.{_b64(self._mac(tenant, payload))}"

    def decode(self, tenant: str, cursor: str) -> FeedPosition:
        if len(cursor) > MAX_CURSOR_LENGTH or cursor.count(".") != 1:
            raise CursorError("the cursor is not one this API issued")
        body, mac = cursor.split(".")
        payload = _unb64(body)
        if not hmac.compare_digest(_unb64(mac), self._mac(tenant, payload)):
            raise CursorError("the cursor was not issued to this API key's tenant, or was altered")
        try:
            version, seq, resource_id = json.loads(payload)
        except (ValueError, TypeError):
            raise CursorError("the cursor is not one this API issued") from None
        if (version != CURSOR_VERSION or type(seq) is not int or not isinstance(resource_id, str)
                or seq < START.seq):
            raise CursorError("the cursor is from another version of the feed; start again without one")
        return FeedPosition(seq, resource_id)


def _was_ever_served(conn: Any, ids: Iterable[str]) -> set[str]:
    """Which of ``ids`` were approved at some point (by their audit trail)."""
    wanted = list(ids)
    if not wanted:
        return set()
    a = audit_table.c
    rows = conn.execute(select(a.resource_id, a.action, a.changes).where(a.resource_id.in_(wanted))).all()
    served = set()
    for rid, action, changes in rows:
        changes = changes or {}
        status = changes.get("status") or {}
        approved = changes.get("approved_version") or {}
        if (action == "approve" or status.get("new") == ReviewStatus.APPROVED.value
                or approved.get("new") is True):
            served.add(rid)
    return served


class CatalogFeed:
    """Pages of the catalog one tenant's users may be served, in change order."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _changed_after(self, tenant: str, after: FeedPosition, limit: int) -> Any:
        a, r = audit_table.c, resources_table.c
        recent = select(a.resource_id.label("rid"), func.max(a.id).label("seq"))
        if after.seq > 0:
            # A resource changed after ``after`` iff one of its audit ids is above it, and
            # then its latest id is the latest of those: reading only the audit ids above the
            # cursor (a range of the primary key) keeps a caught-up poll cheap however long
            # the trail. An audit id names one resource, so no two share a position above 0.
            latest = recent.where(a.id > after.seq).group_by(a.resource_id).subquery()
            seq: Any = latest.c.seq
            source = resources_table.join(latest, latest.c.rid == r.id)
            after_cursor: Any = seq > after.seq
        else:
            latest = recent.group_by(a.resource_id).subquery()
            seq = func.coalesce(latest.c.seq, 0)
            source = resources_table.outerjoin(latest, latest.c.rid == r.id)
            after_cursor = or_(seq > after.seq, and_(seq == after.seq, r.id > after.resource_id))
        return (
            select(r.id, r.status, r.approved_data, seq.label("seq"))
            .select_from(source)
            .where(or_(r.owner_tenant.is_(None), r.owner_tenant == tenant))
            .where(after_cursor)
            .order_by(seq, r.id)
            .limit(limit)
        )

    def page(self, tenant: str, after: FeedPosition = START, limit: int = 100) -> FeedPage:
        """Up to ``limit`` entries after ``after``: the approved version of each servable
        resource that changed, and a tombstone for each that changed and is served no more."""
        if limit < 1:
            raise ValueError("limit must be at least 1")
        entries: list[FeedEntry] = []
        position = after
        with self.engine.connect() as conn:
            while True:
                # one row more than needed: usually says whether more follow, without a query
                rows = conn.execute(self._changed_after(tenant, position, limit + 1)).all()
                gone = [row.id for row in rows
                        if row.approved_data is None and row.status != ReviewStatus.RETIRED.value]
                ever_served = _was_ever_served(conn, gone)
                for n, row in enumerate(rows):
                    position = FeedPosition(int(row.seq), row.id)
                    if row.approved_data is not None and row.status != ReviewStatus.RETIRED.value:
                        entries.append(FeedEntry(row.id, Resource.model_validate(row.approved_data)))
                    elif row.approved_data is not None or row.id in ever_served:
                        entries.append(FeedEntry(row.id, None))
                    if len(entries) == limit:
                        more = n + 1 < len(rows) or conn.execute(
                            self._changed_after(tenant, position, 1)).first() is not None
                        return FeedPage(entries, position, more)
                if len(rows) <= limit:
                    return FeedPage(entries, position, False)
