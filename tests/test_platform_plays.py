"""A platform, played end to end through the Python client against ``solace serve``
(issue 16, "done when"): it mirrors the catalog through the feed and keeps the mirror in
step as editors change it, renders a recommended exercise's steps from the recommendation
response alone, gets only groups that meet in its region, and exports then erases a user."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from serving.client import SolaceClient
from tests.conftest import staff_key


def _apply(mirror: dict[str, dict[str, Any]]):  # type: ignore[no-untyped-def]  # returns the page callback
    def apply(entries: list[dict[str, Any]]) -> None:
        for entry in entries:
            if entry["deleted"]:
                mirror.pop(entry["resource_id"], None)
            else:
                mirror[entry["resource_id"]] = entry["resource"]
    return apply


def _servable(services: Any, tenant: str) -> set[str]:
    return set(services.catalog.servable_for([s.resource.id for s in services.catalog.iter_all()], tenant))


def test_a_platform_plays_end_to_end(live_server, deployment) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    base, key = live_server
    services, _ = deployment
    platform = SolaceClient(base, key)

    # 1. mirror the catalog through the feed: exactly what our users may be served
    mirror: dict[str, dict[str, Any]] = {}
    cursor = platform.sync_catalog(_apply(mirror), limit=40)
    assert set(mirror) == _servable(services, "demo")
    assert not any({"status", "reviewed_by", "tags"} & set(r) for r in mirror.values())
    etag = platform.catalog_feed(cursor)["etag"]  # type: ignore[index]  # a page, not a 304
    assert platform.catalog_feed(cursor, etag=etag) is None  # polling: nothing changed

    # editors change the catalog: a new approved resource, one retired, a draft
    suffix = uuid.uuid4().hex[:6]
    author = SolaceClient(base, staff_key(services, "demo", f"play-author-{suffix}"))
    checker = SolaceClient(base, staff_key(services, "demo", f"play-checker-{suffix}", reviewer=True))
    made = []
    for n in range(2):
        rid = f"zz-play-{suffix}-{n}"
        author.create_resource({"id": rid, "type": "exercise", "title": f"Five senses, take {n}",
                                "summary": "Name what you notice with each sense to come back to now.",
                                "steps": ["Name five things you see.", "Name four things you can touch.",
                                          "Name three things you hear."],
                                "topics": ["anxiety"], "duration_minutes": 4, "locales": ["en"]})
        author.review_resource(rid, "submit")
        checker.review_resource(rid, "approve")
        made.append(rid)
    author.create_resource({"id": f"zz-play-{suffix}-draft", "type": "article", "title": "Not reviewed yet",
                            "summary": "A draft no platform may see before review.", "body": "Draft.",
                            "topics": ["sleep"], "duration_minutes": 2})
    author.review_resource(made[1], "retire")
    assert platform.catalog_feed(cursor, etag=etag) is not None  # the page changed
    seen: list[dict[str, Any]] = []
    cursor = platform.sync_catalog(lambda entries: seen.extend(entries), cursor)
    _apply(mirror)(seen)
    assert {e["resource_id"] for e in seen} == set(made)  # never the draft
    assert [e["deleted"] for e in seen if e["resource_id"] == made[1]][-1] is True
    assert made[0] in mirror and made[1] not in mirror
    assert set(mirror) == _servable(services, "demo")

    # 2. render a recommended exercise's steps from the recommendation response alone
    user = f"play-user-{suffix}"
    listing = platform.recommendations(user, k=5, types=["exercise"], fields=["summary", "steps", "duration_minutes"])
    exercise = listing["items"][0]
    content = exercise["content"]
    rendered = "\n".join([exercise["title"], content["summary"], *[f"{i}. {s}" for i, s in enumerate(content["steps"], 1)],
                          f"({content['duration_minutes']} min)"])
    assert len(content["steps"]) >= 2 and all(isinstance(s, str) and s for s in content["steps"])
    assert content["steps"] == mirror[exercise["resource_id"]]["steps"]  # the feed and the list agree
    assert "1. " in rendered and "2. " in rendered

    # 3. only groups that meet in the platform's region (online ones: where their language is spoken)
    groups = platform.recommendations(user, k=30, types=["group"], locale="en-GB", fields=["group", "locales", "country"])
    served = [g for g in groups["items"] if not g["is_crisis_resource"]]
    assert served
    for item in served:
        group = item["content"]["group"]
        assert any(loc.split("-")[0] == "en" for loc in item["content"]["locales"]), item["resource_id"]
        if group.get("modality") == "in_person":
            regions = {item["content"].get("country")} | {loc.split("-")[1] for loc in item["content"]["locales"] if "-" in loc}
            assert "GB" in regions, f"{item['resource_id']} meets elsewhere"
    elsewhere = {rid for rid, r in mirror.items() if r["type"] == "group" and r.get("group", {}).get("modality") == "in_person"
                 and "GB" not in ({r.get("country")} | {loc.split("-")[1] for loc in r.get("locales", []) if "-" in loc})}
    assert elsewhere, "the catalog has in-person groups meeting outside GB"
    assert not elsewhere & {g["resource_id"] for g in groups["items"]}

    # 4. export, then erase, a user
    rid = exercise["resource_id"]
    platform.put_user(user, features=["topic:anxiety"], locale="en-GB", opt_outs=["grief"])
    platform.send_events([{"event_id": f"play-{suffix}-{n}", "user_id": user, "resource_id": rid, "type": t,
                           "timestamp": datetime.now(UTC)} for n, t in enumerate(("impression", "start", "complete"))])
    held = platform.get_user(user)
    assert held["profile"]["opt_outs"] == ["grief"]
    assert [e["type"] for e in held["events"]] == ["impression", "start", "complete"]
    assert rid in held["derived"]["completed"]
    platform.delete_user(user)
    gone = platform.get_user(user)
    assert gone["profile"] is None and gone["events"] == [] and not gone["derived"].get("completed")
    assert platform.recommendations(user, k=3)["items"]  # an unknown user again: still served
