"""The HTTP API against the real Redis, on a quick-start deployment built once."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import redis

from storage.api_keys import Role


def _events(user: str, resource: str, *types: str) -> dict:  # type: ignore[type-arg]  # an event batch is free JSON
    now = datetime.now(UTC).isoformat()
    return {"events": [{"event_id": uuid.uuid4().hex, "user_id": user, "resource_id": resource,
                        "type": t, "timestamp": now} for t in types]}


def test_health_ready_and_openapi(app_client) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    assert app_client.get("/healthz").json == {"status": "ok"}
    ready = app_client.get("/readyz")
    assert ready.status_code == 200 and ready.json["checks"] == {"redis": True, "state": True, "model": True}
    spec = app_client.get("/openapi.json").json
    assert spec["openapi"].startswith("3.")
    assert "/v1/users/{user_id}/recommendations" in spec["paths"]
    assert "/v1/events" in spec["paths"]
    docs = app_client.get("/docs/")
    assert docs.status_code == 200 and b"swagger" in docs.data.lower()
    assert app_client.get("/docs/swagger-ui-bundle.js").status_code == 200  # served locally
    metrics = app_client.get("/metrics").data.decode()
    assert "solace_requests_total" in metrics


def test_missing_or_unknown_key_is_401_json(app_client) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    r = app_client.get("/v1/users/sim-00001/recommendations", headers={"Authorization": ""})
    assert r.status_code == 401 and r.json["error"]["code"] == "unauthorized"
    r = app_client.get("/v1/users/sim-00001/recommendations", headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401


def test_editor_key_cannot_ask_for_recommendations(app_client, deployment) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    services, _ = deployment
    _k, secret = services.api_keys.create("demo", Role.EDITOR)
    r = app_client.get("/v1/users/sim-00001/recommendations", headers={"Authorization": f"Bearer {secret}"})
    assert r.status_code == 403 and r.json["error"]["code"] == "forbidden"


def test_recommendations_follow_the_contract_and_exclude_completed(app_client, deployment) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    services, result = deployment
    user = result.example_user
    body = app_client.get(f"/v1/users/{user}/recommendations?k=5").json
    assert set(body) >= {"recommendation_id", "model_version", "items"}
    assert body["model_version"] == result.version and body["source"] == "personalised"
    assert 1 <= len(body["items"]) <= 5
    for item in body["items"]:
        assert set(item) >= {"resource_id", "type", "title", "url", "score", "reason"}
        assert item["reason"]
    completed = {e.resource_id for e in services.events.user_events("demo", user) if e.type == "complete"}
    assert completed, "the simulated user should have completed something"
    assert not completed & {i["resource_id"] for i in body["items"]}


def test_unknown_user_gets_a_popular_diverse_list(app_client) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    body = app_client.get("/v1/users/never-seen-user/recommendations?k=10").json
    assert body["source"] == "popular"
    assert len(body["items"]) == 10
    topics = [t for i in body["items"] for t in i["topics"]]
    assert max(topics.count(t) for t in set(topics)) <= 4


def test_bad_requests_name_the_field(app_client) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    r = app_client.get("/v1/users/sim-00001/recommendations?k=0")
    assert r.status_code == 422 and r.json["error"]["field"] == "k"
    r = app_client.get("/v1/users/sim-00001/recommendations?types=podcast")
    assert r.status_code == 422 and r.json["error"]["field"] == "types"
    r = app_client.get("/v1/users/someone@example.com/recommendations")
    assert r.status_code == 422 and r.json["error"]["field"] == "user_id"
    r = app_client.post("/v1/events", data="not json", content_type="application/json")
    assert r.status_code == 400 and r.json["error"]["field"] == "body"
    r = app_client.post("/v1/events", data='{"events": []}', content_type="text/plain")
    assert r.status_code == 400 and "Content-Type: application/json" in r.json["error"]["message"]
    r = app_client.post("/v1/events", json={"events": [{"event_id": "x", "user_id": "u1",
                                                         "resource_id": "r", "type": "teleport",
                                                         "timestamp": "2026-01-01T00:00:00Z"}]})
    assert r.status_code == 422 and r.json["error"]["field"] == "events.0.type"
    r = app_client.get("/v1/nothing-here")
    assert r.status_code == 404 and r.json["error"]["code"] == "not_found"


def test_events_are_deduplicated_and_reflected_in_the_next_request(app_client, deployment) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    services, result = deployment
    user = f"fresh-{uuid.uuid4().hex[:8]}"
    first = app_client.get(f"/v1/users/{user}/recommendations?k=5").json
    top = first["items"][0]["resource_id"]
    batch = _events(user, top, "click", "complete")
    r = app_client.post("/v1/events", json=batch)
    assert r.status_code == 202 and r.json == {"accepted": 2, "duplicates": 0}
    assert app_client.post("/v1/events", json=batch).json == {"accepted": 0, "duplicates": 2}
    assert services.events.count("demo") >= 2
    after = app_client.get(f"/v1/users/{user}/recommendations?k=5").json
    assert top not in {i["resource_id"] for i in after["items"]}


def test_cold_user_with_onboarding_features_gets_matching_topics(app_client) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    body = app_client.post("/v1/recommendations", json={"features": ["topic:sleep"], "k": 5}).json
    assert body["source"] == "features"
    sleepy = [i for i in body["items"] if "sleep" in i["topics"]]
    assert len(sleepy) >= 2


def test_crisis_language_in_context_puts_crisis_resources_first(app_client) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    body = app_client.post("/v1/recommendations", json={
        "locale": "en-GB", "k": 5, "context": {"text": "i just want to unalive myself tbh"}}).json
    assert body["crisis"] is True
    first = body["items"][0]
    assert first["is_crisis_resource"] and first["resource_id"]
    assert first["contact"]["phone"] or first["contact"]["web"]
    calm = app_client.post("/v1/recommendations", json={"k": 5, "context": {"text": "this exam is killing me"}}).json
    assert calm["crisis"] is False


def test_profile_opt_outs_and_erasure_leave_no_trace(app_client, deployment) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    services, _ = deployment
    user = f"erase-{uuid.uuid4().hex[:8]}"
    r = app_client.put(f"/v1/users/{user}", json={"features": ["topic:anxiety"], "opt_outs": ["anxiety"], "age_band": "16-17"})
    assert r.status_code == 200
    body = app_client.get(f"/v1/users/{user}/recommendations?k=10").json
    assert all("anxiety" not in i["topics"] for i in body["items"])
    app_client.post("/v1/events", json=_events(user, body["items"][0]["resource_id"], "like", "complete"))
    assert app_client.delete(f"/v1/users/{user}").status_code == 204
    client = redis.Redis.from_url(services.settings.redis_url)
    prefix = services.settings.redis_prefix
    for key in client.scan_iter(match=f"{prefix}:*", count=1000):
        assert user.encode() not in key
        if client.type(key) == b"hash":
            assert not client.hexists(key, user)
    assert services.events.user_events("demo", user) == []
    assert services.profiles.get("demo", user) is None


def test_tenants_cannot_see_each_others_users(app_client, deployment) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    services, result = deployment
    _k, other = services.api_keys.create("other-platform", Role.PLATFORM)
    auth = {"Authorization": f"Bearer {other}"}
    mine = app_client.get(f"/v1/users/{result.example_user}/recommendations?k=5").json
    theirs = app_client.get(f"/v1/users/{result.example_user}/recommendations?k=5", headers=auth).json
    assert mine["source"] == "personalised"
    assert theirs["source"] == "popular"  # the same id means nothing in another tenant


def test_group_listings_carry_their_next_session(app_client) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    from datetime import datetime

    groups = app_client.get("/v1/users/someone-new/recommendations?k=5&types=group").json["items"]
    assert groups and all(g["type"] == "group" for g in groups)
    for g in groups:
        start = datetime.fromisoformat(g["next_session"])
        assert start > datetime.now(start.tzinfo) and start.tzinfo is not None


def test_search_and_similar(app_client) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    found = app_client.get("/v1/resources/search?q=cannot fall asleep at night&k=5").json["items"]
    assert found and any("sleep" in i["topics"] for i in found[:3])
    rid = found[0]["resource_id"]
    similar = app_client.get(f"/v1/resources/{rid}/similar?k=3").json["items"]
    assert len(similar) == 3 and rid not in {i["resource_id"] for i in similar}
    assert app_client.get("/v1/resources/no-such-thing/similar").status_code == 404


def test_cached_list_is_served_until_an_event_invalidates_it(app_client, deployment) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    services, result = deployment
    user = "sim-00003"
    a = app_client.get(f"/v1/users/{user}/recommendations?k=4").json
    client = redis.Redis.from_url(services.settings.redis_url)
    lists = services.keys.user_cached_lists("demo", user)
    assert client.exists(lists)
    b = app_client.get(f"/v1/users/{user}/recommendations?k=4").json
    assert [i["resource_id"] for i in a["items"]] == [i["resource_id"] for i in b["items"]]
    assert a["recommendation_id"] != b["recommendation_id"]
    app_client.post("/v1/events", json=_events(user, a["items"][0]["resource_id"], "dismiss"))
    assert not client.exists(lists)
    c = app_client.get(f"/v1/users/{user}/recommendations?k=4").json
    assert a["items"][0]["resource_id"] not in {i["resource_id"] for i in c["items"]}


def test_events_fold_into_a_new_users_vector_at_once(app_client, deployment) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    """A brand-new user who completes sleep content gets a personalised, sleep-leaning list
    in the very next request (no retrain)."""
    services, _ = deployment
    user = f"newcomer-{uuid.uuid4().hex[:8]}"
    before = app_client.get(f"/v1/users/{user}/recommendations?k=10").json
    assert before["source"] == "popular"
    sleep_items = [r.id for r in services.catalog.servable() if r.topics[0] == "sleep" and not r.is_crisis_resource][:4]
    batch = {"events": []}
    for rid in sleep_items:
        batch["events"] += _events(user, rid, "complete", "like")["events"]
    assert app_client.post("/v1/events", json=batch).status_code == 202
    after = app_client.get(f"/v1/users/{user}/recommendations?k=10").json
    assert after["source"] == "personalised"
    sleepy = lambda body: sum("sleep" in i["topics"] for i in body["items"])  # noqa: E731
    assert sleepy(after) >= 3 and sleepy(after) > sleepy(before)
    assert not set(sleep_items) & {i["resource_id"] for i in after["items"]}
    assert any("sleep" in (i["reason"] or "").lower() or "because you finished" in (i["reason"] or "").lower()
               for i in after["items"])


def test_json_bodies_are_typed_exactly(app_client) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    for body in ({"k": True}, {"k": "5"}, {"k": 5.0}, {"context": {"risk": "yes"}}, {"context": {"risk": 1}},
                 {"explain": "false"}):
        response = app_client.post("/v1/recommendations", json=body)
        assert response.status_code == 422, body
        assert response.json["error"]["code"] == "invalid_field"
    assert app_client.post("/v1/recommendations", json={"k": 5, "context": {"risk": False}}).status_code == 200


def test_a_body_over_the_limit_is_413_naming_the_limit(app_client) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    response = app_client.post("/v1/events", data=b"x" * (2 * 1024 * 1024 + 10), content_type="application/json")
    assert response.status_code == 413
    assert str(2 * 1024 * 1024) in response.json["error"]["message"]


def test_a_user_can_see_everything_held_about_them_then_be_erased(app_client, deployment) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    from sqlalchemy import select

    from storage.tables import erasure_log_table

    services, result = deployment
    user = f"export-{uuid.uuid4().hex[:8]}"
    other = f"{user}:work"  # an id with the first as a prefix: never part of the answer
    assert app_client.put(f"/v1/users/{user}", json={"features": ["topic:sleep"], "opt_outs": ["grief"]}).status_code == 200
    resource = app_client.get("/v1/users/anyone/recommendations?k=1").json["items"][0]["resource_id"]
    assert app_client.post("/v1/events", json=_events(user, resource, "complete")).status_code == 202
    assert app_client.post("/v1/events", json=_events(other, resource, "like")).status_code == 202
    body = app_client.get(f"/v1/users/{user}").json
    assert body["profile"]["opt_outs"] == ["grief"]
    assert [e["type"] for e in body["events"]] == ["complete"]
    assert body["derived"]["completed"] == [resource]
    assert app_client.get(f"/v1/users/{result.example_user}").json["model_versions"] == [result.version]
    assert app_client.delete(f"/v1/users/{user}").status_code == 204
    gone = app_client.get(f"/v1/users/{user}").json
    assert gone["profile"] is None and gone["events"] == [] and gone["derived"]["completed"] == []
    assert app_client.get(f"/v1/users/{other}").json["events"], "the prefix-sharing user keeps their data"
    with services.engine.connect() as conn:
        logged = conn.execute(select(erasure_log_table.c.user_hash, erasure_log_table.c.action)).all()
    assert {a for _h, a in logged} >= {"export", "erase"}
    assert all(user not in h for h, _a in logged)


def test_a_platform_renders_an_exercise_from_the_response_alone(app_client) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    body = app_client.get("/v1/users/render-user/recommendations?k=20&types=exercise&fields=summary,steps,duration_minutes").json
    exercise = body["items"][0]
    assert exercise["type"] == "exercise"
    content = exercise["content"]
    assert content["summary"] and isinstance(content["steps"], list) and len(content["steps"]) >= 2
    assert all(isinstance(step, str) and step for step in content["steps"]) and content["duration_minutes"] >= 1
    post = app_client.post("/v1/recommendations", json={"k": 3, "fields": ["body", "summary"]}).json
    assert all("content" in i and "summary" in i["content"] for i in post["items"])
    bad = app_client.get("/v1/users/render-user/recommendations?fields=status")
    assert bad.status_code == 422 and "status" in bad.json["error"]["message"]
    plain = app_client.get("/v1/users/render-user/recommendations?k=3").json
    assert all("content" not in i for i in plain["items"])


def test_platform_keys_read_only_what_their_users_may_be_served(app_client, deployment) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    from content_catalog.access import Actor
    from content_catalog.schema import Resource

    services, _result = deployment
    served = app_client.get("/v1/users/anyone/recommendations?k=1").json["items"][0]["resource_id"]
    ok = app_client.get(f"/v1/resources/{served}")
    assert ok.status_code == 200 and ok.json["resource"]["id"] == served
    assert "status" not in ok.json["resource"] and "reviewed_by" not in ok.json["resource"]
    draft_id = f"art-draft-{uuid.uuid4().hex[:6]}"
    draft = Resource.model_validate({"id": draft_id, "type": "article", "title": "A draft not yet reviewed",
                                     "summary": "Nobody should read this before a reviewer has.",
                                     "body": "Draft text.", "topics": ["sleep"], "duration_minutes": 3})
    services.catalog.create(draft, Actor("author", tenant="demo"))
    assert app_client.get(f"/v1/resources/{draft_id}").status_code == 404
    other = f"art-other-{uuid.uuid4().hex[:6]}"
    services.catalog.create(draft.model_copy(update={"id": other}), Actor("author", tenant="someone-else"))
    assert app_client.get(f"/v1/resources/{other}").status_code == 404


def test_groups_qualify_by_place_and_language(app_client) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    from content_catalog.seed import load_seed_catalog
    from recommender.catalog_view import region_of

    groups = {r.id: r for r in load_seed_catalog() if r.group is not None}
    in_person = {gid for gid, r in groups.items() if r.group is not None and r.group.modality == "in_person"}
    assert in_person, "the seed catalog has in-person groups"

    def meets(gid: str) -> set[str]:
        r = groups[gid]
        return {r.country} if r.country else {x for x in (region_of(loc) for loc in r.locales) if x}

    for locale in ("en-GB", "en-US", "de-DE"):
        body = app_client.get(f"/v1/users/place-user/recommendations?types=group&k=20&locale={locale}").json
        for item in body["items"]:
            if item["resource_id"] in in_person:
                assert locale.split("-")[1] in meets(item["resource_id"]), (locale, item["resource_id"])
            langs = {loc.split("-")[0] for loc in groups[item["resource_id"]].locales}
            assert locale.split("-")[0] in langs, "content in another language was served"
    no_locale = app_client.get("/v1/users/place-user/recommendations?types=group&k=20").json
    assert not {i["resource_id"] for i in no_locale["items"]} & in_person
    assert all("en" in {loc.split("-")[0] for loc in groups[i["resource_id"]].locales} for i in no_locale["items"])


def test_events_cannot_probe_another_tenants_private_resources(app_client, deployment) -> None:  # type: ignore[no-untyped-def]
    from content_catalog.access import Actor
    from content_catalog.schema import Resource

    services, _result = deployment
    private = f"art-private-{uuid.uuid4().hex[:6]}"
    services.catalog.create(Resource.model_validate({
        "id": private, "type": "article", "title": "Another platform's own article",
        "summary": "Written by another tenant's staff for their users only.", "body": "Text.",
        "topics": ["sleep"], "duration_minutes": 2}), Actor("author", tenant="someone-else"))
    probe = app_client.post("/v1/events", json=_events("prober", private, "click"))
    missing = app_client.post("/v1/events", json=_events("prober", f"art-none-{uuid.uuid4().hex[:6]}", "click"))
    assert probe.status_code == missing.status_code == 422
    assert probe.json["error"]["message"].replace(private, "X") == missing.json["error"]["message"].replace(
        missing.json["error"]["message"].split("'")[1], "X")
