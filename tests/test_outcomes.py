"""Outcome signals and the per-resource figures built from them (issue 17).

The figures come from rollups kept at ingestion; they must equal a brute-force count over
the same events, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import random
import uuid
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta

import pytest

from analytics.report import resource_figures
from core.events import CONTENT_REPORT_REASONS, Event
from storage.events import EventStore
from storage.outcomes import COUNTER_OF, OutcomeStore

TYPES = ["impression"] * 8 + ["click"] * 3 + ["start", "complete", "helpful", "not_helpful", "dismiss",
                                               "content_report", "distress", "report", "like"]


def _random_events(rng: random.Random, n: int, start: datetime) -> list[Event]:
    events = []
    for k in range(n):
        kind = rng.choice(TYPES)
        events.append(Event(
            f"e-{k}", f"u-{rng.randrange(50)}", f"r-{rng.randrange(12)}", kind,
            start + timedelta(hours=rng.randrange(24 * 10)),
            reason=rng.choice(CONTENT_REPORT_REASONS) if kind == "content_report" else None,
        ))
    return events


def test_rollups_equal_a_brute_force_count(sql_engine) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    rng = random.Random(3)
    start = datetime(2026, 11, 1, tzinfo=UTC)
    events = _random_events(rng, 3000, start)
    store = EventStore(sql_engine)
    for chunk in range(0, len(events), 250):  # in batches, with a re-sent batch (deduplicated)
        store.add_batch("acme", events[chunk : chunk + 250])
    store.add_batch("acme", events[:250])
    store.add_batch("other", events[:100])  # another tenant's events do not leak into acme's
    since = date(2026, 11, 4)
    expected: dict[str, Counter[str]] = defaultdict(Counter)
    for e in events:
        if e.timestamp.date() >= since and e.type in COUNTER_OF:
            expected[e.resource_id][COUNTER_OF[e.type]] += 1
    got = OutcomeStore(sql_engine).counts("acme", since)
    assert set(got) == set(expected)
    for rid, counts in expected.items():
        assert {k: v for k, v in got[rid].items() if v} == dict(counts)
    everyone = OutcomeStore(sql_engine).counts(None, since)
    assert sum(c["impressions"] for c in everyone.values()) > sum(c["impressions"] for c in got.values())
    figures = {f.resource_id: f for f in resource_figures(sql_engine, "acme", since)}
    some = next(iter(expected))
    rated = expected[some]["helpful"] + expected[some]["not_helpful"]
    helpful = figures[some].figures["helpful_rate"]
    assert helpful.estimate == pytest.approx(expected[some]["helpful"] / rated if rated else 0.0)  # type: ignore[union-attr]  # a rate with counts behind it is an interval


@pytest.mark.slow
def test_outcome_events_through_the_api(app_client, deployment) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    from storage.api_keys import KeyStore, Role

    services, result = deployment
    now = datetime.now(UTC).isoformat()
    rid = app_client.get("/v1/users/someone-new/recommendations?k=3").json["items"][0]["resource_id"]
    user = f"outcome-{uuid.uuid4().hex[:8]}"

    def event(kind: str, **extra: object) -> dict[str, object]:
        return {"event_id": uuid.uuid4().hex, "user_id": user, "resource_id": rid, "type": kind, "timestamp": now, **extra}

    ok = app_client.post("/v1/events", json={"events": [event("impression"), event("helpful"),
                                                          event("content_report", reason="inaccurate")]})
    assert ok.status_code == 202
    missing = app_client.post("/v1/events", json={"events": [event("content_report")]})
    assert missing.status_code == 422 and "reason" in missing.json["error"]["message"]
    stray = app_client.post("/v1/events", json={"events": [event("helpful", reason="harmful")]})
    assert stray.status_code == 422
    free_text = app_client.post("/v1/events", json={"events": [event("content_report", reason="it said to stop meds")]})
    assert free_text.status_code == 422
    assert app_client.post("/v1/events", json={"events": [event("distress")]}).status_code == 202
    body = app_client.get(f"/v1/users/{user}/recommendations").json
    assert body["crisis"] is True, "distress opens the risk window, like report did"

    editor = KeyStore(services.engine).create("demo", Role.EDITOR)[1]
    figures = app_client.get("/v1/analytics/resources", headers={"Authorization": f"Bearer {editor}"})
    assert figures.status_code == 200
    row = {r["resource_id"]: r for r in figures.json["resources"]}[rid]
    assert row["helpful"] >= 1 and row["content_reports"] >= 1
    assert 0 <= row["helpful_rate"]["low"] <= row["helpful_rate"]["estimate"] <= row["helpful_rate"]["high"] <= 1
    other = app_client.get("/v1/analytics/resources?tenant=acme", headers={"Authorization": f"Bearer {editor}"})
    assert other.status_code == 403
    platform = app_client.get("/v1/analytics/resources")  # a platform key
    assert platform.status_code == 403


def test_two_writers_ingest_together_on_sqlite(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Writers storing events at once all succeed, and every event is counted once."""
    import threading

    from storage.db import get_engine

    engine = get_engine(f"sqlite:///{tmp_path / 'two-writers.db'}")
    store = EventStore(engine)
    errors: list[BaseException] = []
    start = datetime(2026, 11, 20, tzinfo=UTC)

    def writer(name: str) -> None:
        try:
            for batch in range(30):
                store.add_batch("acme", [Event(f"{name}-{batch}-{k}", f"u{k}", f"r-{k % 5}", "impression", start)
                                         for k in range(40)])
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in ("a", "b", "c")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[0]
    assert sum(c["impressions"] for c in OutcomeStore(engine).counts("acme").values()) == 3 * 30 * 40


def test_solace_analytics_resources_and_flags(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import json as json_lib

    from click.testing import CliRunner

    from solace.cli import cli
    from storage.db import get_engine

    monkeypatch.setenv("SOLACE_HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    engine = get_engine(f"sqlite:///{tmp_path / 'home' / 'solace.db'}")
    from content_catalog.seed import install_seed_catalog, load_seed_catalog
    from content_catalog.store import CatalogStore
    from storage.db import upgrade_schema

    upgrade_schema(engine)
    install_seed_catalog(CatalogStore(engine))
    harmful, good = [r.id for r in load_seed_catalog() if not r.is_crisis_resource][:2]
    day = datetime(2026, 11, 10, tzinfo=UTC)
    events = [Event(f"i-{k}", f"u{k}", harmful, "impression", day) for k in range(400)]
    events += [Event(f"c-{k}", f"u{k}", harmful, "content_report", day, reason="harmful") for k in range(60)]
    events += [Event(f"g-{k}", f"u{k}", good, "impression", day) for k in range(400)]
    events += [Event(f"h-{k}", f"u{k}", good, "helpful", day) for k in range(40)]
    EventStore(engine).add_batch("acme", events)
    runner = CliRunner()
    out = runner.invoke(cli, ["analytics", "resources", "--since", "2026-11-01", "--format", "json"])
    assert out.exit_code == 0, out.output
    rows = {r["resource_id"]: r for r in json_lib.loads(out.output)["resources"]}
    assert rows[harmful]["content_reports"] == 60 and rows[good]["helpful"] == 40
    assert rows[harmful]["flags"] and not rows[good]["flags"]
    table = runner.invoke(cli, ["analytics", "resources"])
    assert table.exit_code == 0 and harmful in table.output
    csv_out = runner.invoke(cli, ["analytics", "resources", "--format", "csv"])
    assert csv_out.output.splitlines()[0].startswith("resource_id,impressions")
    flags = runner.invoke(cli, ["analytics", "flags"])
    assert f"{harmful}: not flagged yet" in flags.output and "content reports" in flags.output
    assert good not in flags.output
    check = runner.invoke(cli, ["analytics", "flags", "check"])
    assert check.exit_code == 0 and f"flagged {harmful}" in check.output and good not in check.output
    assert "no new flag" in runner.invoke(cli, ["analytics", "flags", "check"]).output  # one flag per review
    flags = runner.invoke(cli, ["analytics", "flags"])
    assert f"{harmful}: open since" in flags.output and "content reports" in flags.output
    assert "not flagged yet" not in flags.output and good not in flags.output
    nobody = runner.invoke(cli, ["analytics", "flags", "decide", harmful, "--decision", "kept",
                                 "--actor", "nobody", "--comment", "fine"])
    assert nobody.exit_code != 0 and "nobody" in nobody.output
    bad = runner.invoke(cli, ["analytics", "resources", "--since", "yesterday"])
    assert bad.exit_code != 0 and "YYYY-MM-DD" in bad.output


def test_mood_changes_equal_a_brute_force_pairing(sql_engine) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    """Each mood_after pairs with the latest mood_before of the same user and resource not
    after it (of the same recommendation when it names one), across batches; an after with
    no before counts nothing."""
    rng = random.Random(5)
    start = datetime(2026, 11, 1, tzinfo=UTC)
    events: list[Event] = []
    for k in range(600):
        kind = rng.choice(["mood_before", "mood_after", "mood_after"])
        rec = rng.choice([None, "rec-a", "rec-b"])
        events.append(Event(f"m-{k}", f"u-{rng.randrange(15)}", f"r-{rng.randrange(4)}", kind,
                            start + timedelta(minutes=k * 7), recommendation_id=rec, score=rng.randint(1, 5)))
    store = EventStore(sql_engine)
    for chunk in range(0, len(events), 70):
        store.add_batch("acme", events[chunk: chunk + 70])
    store.add_batch("acme", events[:70])  # a re-sent batch changes nothing
    expected: dict[str, list[int]] = defaultdict(list)
    for n, e in enumerate(events):
        if e.type != "mood_after":
            continue
        befores = [b for b in events[: n + 1] if b.type == "mood_before" and b.user_id == e.user_id
                   and b.resource_id == e.resource_id and b.timestamp <= e.timestamp
                   and (e.recommendation_id is None or b.recommendation_id == e.recommendation_id)]
        if befores:
            expected[e.resource_id].append(e.score - befores[-1].score)  # type: ignore[operator]  # mood events carry scores
    got = OutcomeStore(sql_engine).counts("acme")
    assert sum(len(v) for v in expected.values()) > 50
    for rid, changes in expected.items():
        assert got[rid]["mood_n"] == len(changes)
        assert got[rid]["mood_sum"] == sum(changes)
        assert got[rid]["mood_sq"] == sum(c * c for c in changes)
    windowed = OutcomeStore(sql_engine).counts("acme", since=date(2026, 11, 1))
    assert {r: c["mood_sum"] for r, c in windowed.items()} == {r: c["mood_sum"] for r, c in got.items()}
    figures = {f.resource_id: f for f in resource_figures(sql_engine, "acme")}
    rid = max(expected, key=lambda r: len(expected[r]))
    mood = figures[rid].figures["mood_change"]
    assert mood.estimate == pytest.approx(sum(expected[rid]) / len(expected[rid]))  # type: ignore[union-attr]  # an interval
    assert mood.low < mood.estimate < mood.high  # type: ignore[union-attr]  # an interval


@pytest.mark.slow
def test_mood_check_ins_only_where_a_tenant_enabled_them(app_client, deployment) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    from storage.tenants import TenantPolicy, TenantPolicyStore

    services, _result = deployment
    now = datetime.now(UTC).isoformat()
    rid = app_client.get("/v1/users/someone-new/recommendations?k=3").json["items"][0]["resource_id"]
    user = f"mood-{uuid.uuid4().hex[:8]}"

    def event(kind: str, **extra: object) -> dict[str, object]:
        return {"event_id": uuid.uuid4().hex, "user_id": user, "resource_id": rid, "type": kind, "timestamp": now, **extra}

    policies = TenantPolicyStore(services.engine, services.redis, services.keys)
    before = policies.get("demo")
    try:
        policies.put("demo", before.model_copy(update={"mood_checkins": False}))
        off = app_client.post("/v1/events", json={"events": [event("impression"), event("mood_before", score=2)]})
        assert off.status_code == 422 and off.json["error"]["field"] == "events.1.type"
        assert EventStore(services.engine).user_events("demo", user) == [], "nothing of a refused batch is stored"
        policies.put("demo", before.model_copy(update={"mood_checkins": True}))
        for bad in (event("mood_before"), event("mood_before", score=0), event("mood_after", score=6),
                    event("mood_after", score="3"), event("mood_after", score=True), event("mood_after", score=2.5),
                    event("click", score=3)):
            assert app_client.post("/v1/events", json={"events": [bad]}).status_code == 422, bad
        ok = app_client.post("/v1/events", json={"events": [event("mood_before", score=2), event("mood_after", score=4)]})
        assert ok.status_code == 202
        exported = app_client.get(f"/v1/users/{user}").json
        assert sorted(e.get("score") for e in exported["events"]) == [2, 4]
        assert app_client.delete(f"/v1/users/{user}").status_code in (200, 202, 204)
        assert EventStore(services.engine).user_events("demo", user) == []
    finally:
        policies.put("demo", before)
