"""The catalog feed (issue 16): a platform mirrors the catalog its users may be served and
later fetches only what changed, including removals, through opaque tenant-bound cursors.

Store-level tests run on SQLite and PostgreSQL; the API tests use the quick-start
deployment over the app's test client.
"""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from content_catalog.access import Actor
from content_catalog.feed import START, CatalogFeed, CursorCodec, CursorError, FeedPosition
from content_catalog.schema import Resource
from content_catalog.store import CatalogStore
from storage.api_keys import Role

STAFF = Actor("rev-feed", global_staff=True, reviewer=True)
CHECKER = Actor("rev-feed-2", global_staff=True, reviewer=True)  # four eyes: a second reviewer approves


def _resource(rid: str, **extra: Any) -> Resource:
    data = {"id": rid, "type": "article", "title": f"Article {rid}", "summary": "A short summary to show.",
            "body": "The body a platform renders.", "topics": ["sleep"], "duration_minutes": 3, **extra}
    return Resource.model_validate(data)


def _approved(store: CatalogStore, rid: str, actor: Actor = STAFF, **extra: Any) -> None:
    store.create(_resource(rid, **extra), actor)
    store.review(rid, "submit", actor)
    checker = CHECKER if actor.tenant is None else Actor(f"{actor.name}-2", tenant=actor.tenant, reviewer=True)
    store.review(rid, "approve", checker)


def _drain(feed: CatalogFeed, tenant: str, after: FeedPosition = START, limit: int = 2) -> tuple[dict[str, Any], FeedPosition]:
    """Follow the feed to its end from ``after``, applying entries to a mirror."""
    mirror: dict[str, Any] = {}
    position = after
    for _ in range(10_000):
        page = feed.page(tenant, position, limit)
        for entry in page.entries:
            mirror[entry.resource_id] = entry.resource  # None: a tombstone
        assert page.position >= position
        position = page.position
        if not page.has_more:
            return mirror, position
    raise AssertionError("the feed never ended")


def test_the_feed_mirrors_only_what_a_tenant_may_serve_then_only_changes(sql_engine) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    store, feed = CatalogStore(sql_engine), CatalogFeed(sql_engine)
    for rid in ("art-a", "art-a-b", "art-ab", "art-b"):
        _approved(store, rid)
    store.create(_resource("art-draft"), STAFF)  # a draft: never in the feed
    store.create(_resource("art-in-review"), STAFF)
    store.review("art-in-review", "submit", STAFF)
    demo_staff = Actor("demo-rev", tenant="demo", reviewer=True)
    _approved(store, "art-demo-own", demo_staff)
    # tenants whose names are prefixes of each other see nothing of one another
    _approved(store, "art-dem-own", Actor("dem-rev", tenant="dem", reviewer=True))
    _approved(store, "art-demo2-own", Actor("demo2-rev", tenant="demo2", reviewer=True))

    mirror, cursor = _drain(feed, "demo")
    assert set(mirror) == {"art-a", "art-a-b", "art-ab", "art-b", "art-demo-own"}
    assert all(r is not None and r.status == "approved" for r in mirror.values())
    assert set(_drain(feed, "dem")[0]) == {"art-a", "art-a-b", "art-ab", "art-b", "art-dem-own"}
    # caught up: nothing more
    assert feed.page("demo", cursor, 10).entries == []

    # an edit under review keeps the approved text serving; approval brings the new text
    store.edit("art-a", {"title": "Article a, revised"}, STAFF)
    changed, cursor2 = _drain(feed, "demo", cursor)
    assert set(changed) == {"art-a"} and changed["art-a"].title == "Article art-a"
    store.review("art-a", "approve", CHECKER)
    store.review("art-b", "retire", STAFF)
    store.review("art-draft", "retire", STAFF)  # a draft retired was never served: no tombstone
    store.create(_resource("art-new-draft"), STAFF)
    store.edit("art-dem-own", {"title": "Only dem's"}, Actor("dem-rev", tenant="dem", reviewer=True))
    changed, cursor3 = _drain(feed, "demo", cursor2)
    assert set(changed) == {"art-a", "art-b"}
    assert changed["art-a"].title == "Article a, revised"
    assert changed["art-b"] is None  # a tombstone: remove it

    # un-retiring goes back to review without an approved text: still not served
    store.review("art-b", "unretire", STAFF)
    changed, cursor4 = _drain(feed, "demo", cursor3)
    assert changed == {"art-b": None}
    store.review("art-b", "approve", CHECKER)
    changed, _ = _drain(feed, "demo", cursor4)
    assert set(changed) == {"art-b"} and changed["art-b"] is not None

    # a full mirror now agrees with what the tenant may be served, one entry per id
    mirror, _ = _drain(feed, "demo", limit=1)
    live = {rid for rid, r in mirror.items() if r is not None}
    servable = store.servable_for([s.resource.id for s in store.iter_all()], "demo")
    assert live == set(servable)


def test_resources_without_audit_records_page_by_id_exactly_once(sql_engine) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    """Rows written outside the store (a bulk load) sort first by id: ids that are prefixes
    of each other are each returned once, whatever the page size."""
    from sqlalchemy import insert

    from storage.tables import resources_table

    now = datetime.now(UTC)
    ids = ["bulk-x", "bulk-x-1", "bulk-x-10", "bulk-x1", "bulk-xa", "bulk-x-1-a", "bulk-y"]
    with sql_engine.begin() as conn:
        for rid in ids:
            data = _resource(rid).model_dump(mode="json", exclude_none=True) | {
                "status": "approved", "reviewed_by": "bulk-load", "reviewed_at": "2026-01-01T00:00:00Z"}
            conn.execute(insert(resources_table).values(
                id=rid, type="article", status="approved", data=data, approved_data=data,
                content_hash="h", version=1, created_at=now, updated_at=now, owner_tenant=None))
    feed = CatalogFeed(sql_engine)
    for limit in (1, 2, 3, 100):
        seen: list[str] = []
        position = START
        while True:
            page = feed.page("demo", position, limit)
            seen += [e.resource_id for e in page.entries]
            position = page.position
            if not page.has_more:
                break
        assert sorted(seen) == sorted(ids) and len(seen) == len(ids), (limit, seen)
    # once such a row is changed through the store it moves past every cursor given so far
    CatalogStore(sql_engine).edit("bulk-x-1", {"tags": ["night"]}, STAFF)
    _approved(CatalogStore(sql_engine), "art-after-bulk")
    page = feed.page("demo", position, 10)
    assert [e.resource_id for e in page.entries] == ["bulk-x-1", "art-after-bulk"] and not page.has_more
    assert feed.page("demo", page.position, 10).entries == []


def test_a_change_committed_late_is_never_skipped(sql_engine, monkeypatch) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    """Writer A takes its change number first and commits late; writer B starts after it.
    A reader that sees B's change must not be able to move past A's: writes are serialised
    (without it, on PostgreSQL, B commits first and a cursor after B skips A forever)."""
    store, feed = CatalogStore(sql_engine), CatalogFeed(sql_engine)
    _approved(store, "art-slow")
    _approved(store, "art-fast")
    _, cursor = _drain(feed, "demo")

    inserted = threading.Event()
    original = CatalogStore._audit

    def slow_audit(self: CatalogStore, conn: Any, resource_id: str, *args: Any, **kwargs: Any) -> None:
        original(self, conn, resource_id, *args, **kwargs)
        if resource_id == "art-slow":
            inserted.set()
            time.sleep(1.5)  # holds the transaction open after taking its audit id

    monkeypatch.setattr(CatalogStore, "_audit", slow_audit)
    writer = threading.Thread(target=lambda: store.edit("art-slow", {"tags": ["slow"]}, STAFF))
    writer.start()
    assert inserted.wait(10)
    store.edit("art-fast", {"tags": ["fast"]}, STAFF)  # B: waits for A on both databases
    seen_now = feed.page("demo", cursor, 10)
    writer.join(10)
    later, _ = _drain(feed, "demo", seen_now.position)
    seen = {e.resource_id for e in seen_now.entries} | set(later)
    assert {"art-slow", "art-fast"} <= seen
    assert "art-slow" in {e.resource_id for e in seen_now.entries}, "B's change was visible before A's"


def test_cursors_are_opaque_signed_and_bound_to_the_tenant() -> None:
    codec = CursorCodec("a deployment secret")
    cursor = codec.encode("demo", FeedPosition(42, "art-a"))
    assert codec.decode("demo", cursor) == FeedPosition(42, "art-a")
    assert "42" not in cursor and "art-a" not in cursor
    forged = [
        "", ".", "abc", "abc.def", cursor + "x", cursor[:-1], cursor.replace(".", ".."),
        cursor.split(".")[0] + "." + CursorCodec("another secret").encode("demo", FeedPosition(42, "art-a")).split(".")[1],
        "é" + cursor, cursor + "=", "A" * 1000, "\x00.\x00",
    ]
    body, mac = cursor.split(".")
    flipped = ("B" if body[0] != "B" else "C") + body[1:]
    forged.append(f"{flipped}.{mac}")
    for bad in forged:
        with pytest.raises(CursorError):
            codec.decode("demo", bad)
    for other in ("dem", "demo2", "Demo", "demo\x00"):
        with pytest.raises(CursorError):
            codec.decode(other, cursor)
    # a well-signed payload of the wrong shape is refused too
    import base64
    import json

    for payload in ([2, 1, "a"], [1, True, "a"], [1, -5, "a"], [1, 1], {"a": 1}, [1, 1.5, "a"]):
        raw = json.dumps(payload).encode()
        signed = base64.urlsafe_b64encode(raw).decode().rstrip("=")
        forged_ok_mac = f"{signed}.{base64.urlsafe_b64encode(codec._mac('demo', raw)).decode().rstrip('=')}"
        with pytest.raises(CursorError):
            codec.decode("demo", forged_ok_mac)


# ----------------------------------------------------------------------- over HTTP
def _follow(client: Any, cursor: str | None = None, limit: int = 50) -> tuple[dict[str, Any], str, Any]:
    mirror: dict[str, Any] = {}
    last = None
    for _ in range(1000):
        query = f"?limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        last = client.get(f"/v1/catalog/feed{query}")
        assert last.status_code == 200, last.json
        for item in last.json["items"]:
            mirror[item["resource_id"]] = None if item["deleted"] else item["resource"]
        cursor = last.json["next_cursor"]
        if not last.json["has_more"]:
            return mirror, cursor, last
    raise AssertionError("the feed never ended")


def test_a_platform_mirrors_the_catalog_over_http(app_client, deployment) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    services, _ = deployment
    mirror, cursor, last = _follow(app_client)
    live = {rid: r for rid, r in mirror.items() if r is not None}
    catalog = services.catalog
    assert set(live) == set(catalog.servable_for([s.resource.id for s in catalog.iter_all()], "demo"))
    sample = next(iter(live.values()))
    assert {"id", "title", "summary", "type"} <= set(sample)
    assert not {"status", "reviewed_by", "reviewed_at", "tags"} & set(sample)

    # polling with the ETag: 304 while nothing changed
    caught_up = app_client.get(f"/v1/catalog/feed?cursor={cursor}")
    assert caught_up.json["items"] == [] and caught_up.json["next_cursor"] == cursor
    etag = caught_up.headers["ETag"]
    assert etag != last.headers["ETag"]
    again = app_client.get(f"/v1/catalog/feed?cursor={cursor}", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.get_data() == b""
    assert app_client.get(f"/v1/catalog/feed?cursor={cursor}", headers={"If-None-Match": '"other"'}).status_code == 200

    # a new approved resource, a draft, another tenant's private one, a retirement (on a
    # topic other tests of the shared deployment do not pick content by)
    tag = uuid.uuid4().hex[:6]
    odd = {"topics": ["workplace"]}
    _approved(catalog, f"zz-feed-{tag}", **odd)
    catalog.create(_resource(f"zz-feed-draft-{tag}", **odd), STAFF)
    _approved(catalog, f"zz-feed-other-{tag}", Actor("o", tenant="other-tenant", reviewer=True), **odd)
    _approved(catalog, f"zz-feed-demo-{tag}", Actor("d", tenant="demo", reviewer=True), **odd)
    retired = f"zz-feed-gone-{tag}"
    _approved(catalog, retired, **odd)
    changed_before, cursor_b, _ = _follow(app_client, cursor)
    catalog.review(retired, "retire", STAFF)
    changed_after, _, _ = _follow(app_client, cursor_b)
    assert set(changed_before) == {f"zz-feed-{tag}", f"zz-feed-demo-{tag}", retired}
    assert changed_after == {retired: None}
    assert app_client.get(f"/v1/catalog/feed?cursor={cursor}", headers={"If-None-Match": etag}).status_code == 200


def test_forged_or_foreign_cursors_are_422_never_500(app_client, deployment) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    services, _ = deployment
    page = app_client.get("/v1/catalog/feed?limit=1").json
    cursor = page["next_cursor"]
    for bad in ("nope", cursor[:-2], cursor + "A", "x" * 401, cursor.replace(".", "!"), "%00", "..", "ü.ü"):
        response = app_client.get("/v1/catalog/feed", query_string={"cursor": bad})
        assert response.status_code == 422, (bad, response.status_code)
        assert response.json["error"]["field"] == "cursor"
    for limit in ("0", "501", "true", "1.5", "-1"):
        assert app_client.get(f"/v1/catalog/feed?limit={limit}").status_code == 422
    # another tenant's platform key cannot use demo's cursor
    _key, secret = services.api_keys.create("demo2", Role.PLATFORM)
    other = app_client.get("/v1/catalog/feed", query_string={"cursor": cursor},
                           headers={"Authorization": f"Bearer {secret}"})
    assert other.status_code == 422 and other.json["error"]["code"] == "invalid_cursor"
    # an editor key is not a platform key
    _key, editor = services.api_keys.create("demo", Role.EDITOR)
    assert app_client.get("/v1/catalog/feed", headers={"Authorization": f"Bearer {editor}"}).status_code == 403
