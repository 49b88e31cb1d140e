"""What people see, pinned: the lists serving returns for fixed inputs.

Serving is rewritten for speed (issue 19) and for new stores (a Redis Cluster layout): none
of that may change a list, its order, its reasons, its risk level or which crisis line
comes first. A fixed deployment (the seed catalog, a seeded simulated history, ALS trained
on one thread with a fixed seed) answers a fixed set of requests, and every answer is
compared with ``tests/data/serving_pinned.json``.

When a change is *meant* to change lists (new catalog text, a new policy rule, another
model), record them again and review the diff of that file like code:

    SOLACE_RECORD_PINNED=1 .venv/bin/python -m pytest tests/test_lists_pinned.py
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.conftest import make_settings

PINNED = Path(__file__).parent / "data" / "serving_pinned.json"
RECORD = os.environ.get("SOLACE_RECORD_PINNED") == "1"
TENANT = "demo"

# (name, method, path, body): each exercises a different part of the request path
REQUESTS: list[tuple[str, str, str, dict[str, Any] | None]] = [
    ("known user", "POST", "/v1/recommendations", {"user_id": "{known}", "k": 10}),
    ("known user, 3 items, no reasons", "POST", "/v1/recommendations", {"user_id": "{known}", "k": 3, "explain": False}),
    ("another known user", "POST", "/v1/recommendations", {"user_id": "{known2}", "k": 10}),
    ("folded-in user (history only)", "POST", "/v1/recommendations", {"user_id": "pinned-new", "k": 10}),
    ("cold, topics chosen", "POST", "/v1/recommendations", {"features": ["topic:sleep", "topic:loneliness"], "k": 8}),
    ("cold, nothing known", "POST", "/v1/recommendations", {"k": 10}),
    ("exercises only", "POST", "/v1/recommendations", {"user_id": "{known}", "k": 5, "types": ["exercise"]}),
    ("minor", "POST", "/v1/recommendations", {"features": ["topic:anxiety"], "age_band": "13-15", "k": 10}),
    ("context text", "POST", "/v1/recommendations",
     {"user_id": "{known}", "k": 8, "context": {"text": "i feel left out when i see everyone's holiday photos"}}),
    ("sleep question is not crisis", "POST", "/v1/recommendations",
     {"k": 6, "context": {"text": "I can't fall asleep at night"}}),
    ("crisis text, UK", "POST", "/v1/recommendations",
     {"user_id": "{known}", "k": 8, "locale": "en-GB", "context": {"text": "i want to kill myself tonight"}}),
    ("crisis text, US", "POST", "/v1/recommendations",
     {"k": 8, "locale": "en-US", "context": {"text": "I've been cutting again"}}),
    ("concern", "POST", "/v1/recommendations",
     {"k": 6, "context": {"text": "i'm really worried about my friend, she keeps saying she's worthless"}}),
    ("risk flag", "POST", "/v1/recommendations", {"k": 6, "locale": "de-DE", "context": {"risk": True}}),
    ("search", "GET", "/v1/resources/search?q=comparing+myself+to+others&k=6", None),
    ("search, crisis words", "GET", "/v1/resources/search?q=i+want+to+end+it&k=6", None),
]


def _answer(body: dict[str, Any]) -> dict[str, Any]:
    """What a person sees, without what legitimately varies per call (ids, times)."""
    items = body.get("items") or body.get("results") or []
    return {
        "risk": body.get("risk"),
        "crisis": body.get("crisis"),
        "items": [[i["resource_id"], i.get("reason")] for i in items],
        "scores": [None if i.get("score") is None else round(float(i["score"]), 4) for i in items],
    }


@pytest.fixture(scope="module")
def pinned_client(tmp_path_factory: pytest.TempPathFactory, redis_url: str, encoder: object) -> Iterator[Any]:
    from content_catalog.publish import publish_catalog
    from content_catalog.seed import install_seed_catalog
    from serving.app import create_app
    from serving.recovery import mark_restored
    from solace.jobs import embed_catalog, publish, train_from_store
    from solace.services import Services
    from storage.api_keys import Role
    from storage.user_state import sync_user_state
    from training.simulate import SIMULATED_SOURCE, simulate_history

    prefix = f"solace-pinned-{uuid.uuid4().hex[:10]}"
    settings = make_settings(tmp_path_factory.mktemp("pinned"), redis_url, prefix, cache_ttl_seconds=0,
                             threads=1, random_state=11)
    services = Services(settings)
    install_seed_catalog(services.catalog)
    publish_catalog(services.catalog, services.redis, services.keys)
    history = simulate_history(services.catalog.servable(), n_users=120, random_state=11)
    services.events.add_batch(TENANT, history.events, source=SIMULATED_SOURCE)
    services.profiles.put_many(TENANT, history.profiles)
    embed_catalog(services)
    outcome = train_from_store(services, "als", {"factors": 16, "iterations": 8}, random_state=11, threads=1)
    publish(services, outcome.version.version)
    sync_user_state(services.redis, services.keys, TENANT,
                    (e for _t, e in services.events.iter_events(TENANT)), history.profiles)
    mark_restored(services)
    _key, secret = services.api_keys.create(TENANT, Role.PLATFORM)
    client = create_app(settings).test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {secret}"
    known = sorted(history.needs)
    # a user the model never saw, known only by events sent now: served by fold-in
    items = [r.id for r in services.catalog.servable() if not r.is_crisis_resource][:40:7]
    events = [{"event_id": f"pin-{n}", "user_id": "pinned-new", "resource_id": rid, "type": "complete",
               "timestamp": "2026-11-01T10:00:00Z"} for n, rid in enumerate(items)]
    assert client.post("/v1/events", json={"events": events}).status_code == 202
    yield client, {"known": known[0], "known2": known[5]}
    r = redis.Redis.from_url(redis_url)
    for key in r.scan_iter(match=f"{prefix}:*", count=1000):
        r.delete(key)


# Scores are float32 dot products of vectors from BLAS and torch, whose kernels differ by
# CPU (a machine with other SIMD units moved a 4-decimal score by 1e-4): lists, reasons and
# risk must match exactly, scores to this tolerance.
SCORE_TOLERANCE = 5e-4


def _same(pinned: dict[str, Any], answer: dict[str, Any]) -> bool:
    if {k: v for k, v in pinned.items() if k != "scores"} != {k: v for k, v in answer.items() if k != "scores"}:
        return False
    if len(pinned["scores"]) != len(answer["scores"]):
        return False
    for a, b in zip(pinned["scores"], answer["scores"]):
        if (a is None) != (b is None) or (a is not None and abs(a - b) > SCORE_TOLERANCE):
            return False
    return True


def _ask(client: Any, users: dict[str, str], method: str, path: str, body: dict[str, Any] | None) -> dict[str, Any]:
    if body is not None:
        text = json.dumps(body)
        for name, value in users.items():
            text = text.replace("{" + name + "}", value)
        response = client.post(path, json=json.loads(text))
    else:
        response = client.get(path)
    assert response.status_code == 200, response.get_data(as_text=True)
    return _answer(response.json)


def test_lists_on_fixed_inputs_are_unchanged(pinned_client: Any) -> None:
    client, users = pinned_client
    answers = {name: _ask(client, users, method, path, body) for name, method, path, body in REQUESTS}
    # asked twice: the second answer may come from the per-user list cache, and must not differ
    again = {name: _ask(client, users, method, path, body) for name, method, path, body in REQUESTS}
    assert again == answers
    if RECORD:
        PINNED.write_text(json.dumps(answers, indent=1, ensure_ascii=False) + "\n")
    assert PINNED.is_file(), f"no pinned lists yet: record them with SOLACE_RECORD_PINNED=1 ({__doc__})"
    pinned = json.loads(PINNED.read_text())
    assert set(pinned) == set(answers), "the pinned requests changed: record again"
    changed = [name for name in answers if not _same(pinned[name], answers[name])]
    assert not changed, "lists changed for: " + "; ".join(
        f"{name}: {pinned[name]} -> {answers[name]}" for name in changed)


def test_the_pins_can_fail(pinned_client: Any) -> None:
    """The comparison is not vacuous: the fixed inputs give different, non-empty answers."""
    pinned = json.loads(PINNED.read_text()) if PINNED.is_file() else {}
    if not pinned:
        pytest.skip("nothing pinned yet")
    assert all(a["items"] for a in pinned.values())
    assert pinned["known user"]["items"] != pinned["another known user"]["items"]
    assert pinned["crisis text, UK"]["risk"] == "crisis" and pinned["sleep question is not crisis"]["risk"] == "none"
    # the comparison itself: an order swap, a changed reason or a score off by more than the
    # tolerance are all changes; a float32 rounding difference is not
    known = pinned["known user"]
    assert _same(known, json.loads(json.dumps(known)))
    swapped = {**known, "items": [known["items"][1], known["items"][0], *known["items"][2:]]}
    reason = {**known, "items": [[known["items"][0][0], "another reason"], *known["items"][1:]]}
    moved = {**known, "scores": [known["scores"][0] + 0.01, *known["scores"][1:]]}
    rounded = {**known, "scores": [known["scores"][0] + 1e-4, *known["scores"][1:]]}
    assert not _same(known, swapped) and not _same(known, reason) and not _same(known, moved)
    assert _same(known, rounded)


def test_a_cold_person_sees_the_topics_they_chose_under_a_model_without_user_features(pinned_client: Any) -> None:
    """ALS has no user features, so a new person's chosen topics reached no score: they got
    the popular list (with "Popular with people exploring stress" after picking sleep)."""
    client, _users = pinned_client
    for chosen in (["sleep"], ["loneliness", "sleep"], ["cyberbullying"]):
        body = client.post("/v1/recommendations", json={"features": [f"topic:{t}" for t in chosen], "k": 6}).json
        assert body["source"] == "features"
        matching = [i for i in body["items"] if set(i["topics"]) & set(chosen)]
        # the policy's topic cap and variety still apply: matching items lead, not fill, the list
        assert body["items"][0] in matching and len(matching) >= 2, (chosen, body["items"])
        assert all(i["reason"].startswith("Matches your interest in") for i in matching)
    popular = client.post("/v1/recommendations", json={"k": 6}).json
    assert popular["source"] == "popular"
    unknown = client.post("/v1/recommendations", json={"features": ["topic:not-a-topic"], "k": 6}).json
    assert [i["resource_id"] for i in unknown["items"]] == [i["resource_id"] for i in popular["items"]]
