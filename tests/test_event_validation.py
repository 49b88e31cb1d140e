"""Finding 8 of issue 13: what ``POST /v1/events`` accepts, how a report's risk window is
counted, and training that survives one bad stored row.

- ``timestamp`` within a sane window (not before ``SOLACE_EVENT_EARLIEST``, default
  2000-01-01; at most ``SOLACE_EVENT_MAX_FUTURE_SECONDS``, default one day, ahead), else
  422 naming the field and the event's index; a rejected batch stores nothing.
- an unknown ``resource_id`` is 422; NUL, other control characters and lone surrogates
  in any string field are 422.
- a distress ``report`` opens the risk window from its own time: an old one opens none,
  a recent one only for the time left.
- training skips a stored row it cannot use (a year-1 time written straight into SQL),
  naming its event id and never its user id.

On SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis as redis_lib
from sqlalchemy import func, select, text

from core.events import Event
from storage.events import EventStore
from storage.keyspace import Keyspace
from storage.tables import events_table
from tests.test_hostile_input import Backend, build_backend, copy_tables


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, deployment, redis_url: str) -> Backend:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    return build_backend(request, request.param, deployment, redis_url, f"events-{request.param}")


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _event(backend: Backend, n: int = 0, **fields: Any) -> dict[str, Any]:
    event = {"event_id": f"ev-{uuid.uuid4().hex[:10]}-{n}", "user_id": f"u-{uuid.uuid4().hex[:8]}",
             "resource_id": backend.resource_id, "type": "click", "timestamp": _iso(datetime.now(UTC))}
    event.update(fields)
    return event


def _stored(backend: Backend) -> int:
    engine = backend.app.extensions["solace"].engine
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(events_table)
                                .where(events_table.c.tenant == backend.tenant)).scalar_one())


def _post(backend: Backend, events: list[dict[str, Any]]) -> Any:
    return backend.client.post("/v1/events", json={"events": events})


def _assert_422(response: Any, field: str) -> dict[str, Any]:
    assert response.status_code == 422, response.get_json()
    error = response.get_json()["error"]
    assert error["field"] == field, error
    assert error["message"].startswith(f"{field}: "), error
    return error  # type: ignore[no-any-return]  # a response body is free JSON


NOW = datetime.now(UTC)


@pytest.mark.parametrize("when", [
    "0001-01-01T00:00:00Z", "1970-01-01T00:00:00Z", "1999-12-31T23:59:59Z",
    _iso(NOW + timedelta(days=1, hours=1)), "9999-12-31T23:59:59Z", 0, -1,
])
def test_timestamps_outside_the_window_are_422_naming_field_and_index(backend: Backend, when: Any) -> None:
    before = _stored(backend)
    events = [_event(backend, 0), _event(backend, 1), _event(backend, 2, timestamp=when)]
    error = _assert_422(_post(backend, events), "events.2.timestamp")
    assert "SOLACE_EVENT_" in error["message"]
    assert _stored(backend) == before  # the whole batch is refused: nothing stored


@pytest.mark.parametrize("when", [
    "2000-01-01T00:00:00Z", _iso(NOW - timedelta(days=30)), _iso(NOW + timedelta(hours=23)),
    (NOW - timedelta(hours=2)).replace(tzinfo=None).isoformat(),  # no zone: taken as UTC
    _iso(NOW.astimezone(__import__("zoneinfo").ZoneInfo("Asia/Kolkata"))),
])
def test_timestamps_inside_the_window_are_accepted(backend: Backend, when: str) -> None:
    before = _stored(backend)
    response = _post(backend, [_event(backend, timestamp=when)])
    assert response.status_code == 202, response.get_json()
    assert _stored(backend) == before + 1


def test_an_offset_timestamp_is_stored_as_the_same_instant(backend: Backend) -> None:
    local = datetime(2024, 3, 1, 12, 0, tzinfo=__import__("zoneinfo").ZoneInfo("Asia/Kolkata"))
    event = _event(backend, timestamp=local.isoformat())
    assert _post(backend, [event]).status_code == 202
    stored = EventStore(backend.app.extensions["solace"].engine).user_events(backend.tenant, event["user_id"])
    ts = stored[0].timestamp
    assert (ts if ts.tzinfo else ts.replace(tzinfo=UTC)) == local


def test_the_window_is_configurable(request: pytest.FixtureRequest, deployment, redis_url: str) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    strict = build_backend(request, "sqlite", deployment, redis_url, "events-strict",
                           event_earliest=datetime(2020, 1, 1, tzinfo=UTC), event_max_future_seconds=60)
    _assert_422(_post(strict, [_event(strict, timestamp="2019-06-01T00:00:00Z")]), "events.0.timestamp")
    _assert_422(_post(strict, [_event(strict, timestamp=_iso(datetime.now(UTC) + timedelta(minutes=5)))]),
                "events.0.timestamp")
    assert _post(strict, [_event(strict, timestamp="2021-06-01T00:00:00Z")]).status_code == 202


def test_settings_read_the_window_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from core.config import load_settings

    monkeypatch.setenv("SOLACE_EVENT_EARLIEST", "2015-06-01")
    monkeypatch.setenv("SOLACE_EVENT_MAX_FUTURE_SECONDS", "3600")
    settings = load_settings()
    assert settings.event_earliest == datetime(2015, 6, 1, tzinfo=UTC)
    assert settings.event_max_future_seconds == 3600
    monkeypatch.delenv("SOLACE_EVENT_EARLIEST")
    monkeypatch.delenv("SOLACE_EVENT_MAX_FUTURE_SECONDS")
    settings = load_settings()
    assert settings.event_earliest == datetime(2000, 1, 1, tzinfo=UTC)
    assert settings.event_max_future_seconds == 86400


def test_unknown_resource_is_422(backend: Backend) -> None:
    before = _stored(backend)
    events = [_event(backend, 0), _event(backend, 1, resource_id="no-such-resource-x")]
    error = _assert_422(_post(backend, events), "events.1.resource_id")
    assert "catalog" in error["message"]
    assert _stored(backend) == before


@pytest.mark.parametrize("field", ["event_id", "user_id", "resource_id", "recommendation_id"])
@pytest.mark.parametrize("value", ["a\u0000b", "a\u0007", "a\u001fb", "a\rb", "\ud800x", "x\udfff", "a\u0000"])
def test_unstorable_characters_in_any_string_field_are_422(backend: Backend, field: str, value: str) -> None:
    before = _stored(backend)
    events = [_event(backend, 0), _event(backend, 1, **{field: value})]
    body = json.dumps({"events": events})  # \\u escapes, lone surrogates included
    response = backend.client.post("/v1/events", data=body, content_type="application/json")
    _assert_422(response, f"events.1.{field}")
    assert _stored(backend) == before


# --------------------------------------------------------------------------- risk windows
def _risk_ttl(backend: Backend, user: str) -> int:
    st = backend.app.extensions["solace"]
    return int(st.redis.ttl(st.keys.user_risk(backend.tenant, user)))


def test_an_old_report_opens_no_risk_window(backend: Backend) -> None:
    window_hours = backend.app.extensions["solace"].settings.risk_window_hours
    event = _event(backend, type="report", timestamp=_iso(NOW - timedelta(hours=window_hours + 1)))
    assert _post(backend, [event]).status_code == 202
    assert _risk_ttl(backend, event["user_id"]) == -2  # no key
    response = backend.client.get(f"/v1/users/{event['user_id']}/recommendations?k=5")
    assert response.status_code == 200 and response.get_json()["crisis"] is False


def test_a_recent_report_opens_the_window_for_the_time_left(backend: Backend) -> None:
    window = backend.app.extensions["solace"].settings.risk_window_hours * 3600
    event = _event(backend, type="report", timestamp=_iso(datetime.now(UTC) - timedelta(hours=10)))
    assert _post(backend, [event]).status_code == 202
    ttl = _risk_ttl(backend, event["user_id"])
    assert window - 10 * 3600 - 60 <= ttl <= window - 10 * 3600
    response = backend.client.get(f"/v1/users/{event['user_id']}/recommendations?k=5")
    assert response.get_json()["crisis"] is True


def test_apply_events_keeps_the_longest_window_of_a_batch(redis_url: str, redis_prefix: str) -> None:
    from storage.user_state import apply_events

    client = redis_lib.Redis.from_url(redis_url)
    keys = Keyspace(redis_prefix)
    now = datetime.now(UTC)
    window = 72 * 3600
    recent = Event("r2", "u1", "x", "report", now - timedelta(hours=1))
    older = Event("r1", "u1", "x", "report", now - timedelta(hours=50))
    apply_events(client, keys, "acme", [recent, older], window)
    assert window - 3600 - 60 <= client.ttl(keys.user_risk("acme", "u1")) <= window - 3600
    # a later batch with an older report does not shorten the open window
    apply_events(client, keys, "acme", [Event("r3", "u1", "x", "report", now - timedelta(hours=60))], window)
    assert client.ttl(keys.user_risk("acme", "u1")) >= window - 3600 - 60
    # a naive time (SQLite reads them back so) is UTC; a future one opens the full window
    apply_events(client, keys, "acme", [Event("r4", "u2", "x", "report", (now - timedelta(hours=70)).replace(tzinfo=None))], window)
    assert 2 * 3600 - 60 <= client.ttl(keys.user_risk("acme", "u2")) <= 2 * 3600
    apply_events(client, keys, "acme", [Event("r5", "u3", "x", "report", now + timedelta(hours=5))], window)
    assert window - 60 <= client.ttl(keys.user_risk("acme", "u3")) <= window
    apply_events(client, keys, "acme", [Event("r6", "u4", "x", "report", now - timedelta(hours=73))], window)
    assert not client.exists(keys.user_risk("acme", "u4"))


# --------------------------------------------------------------------------- training
def _insert_bad_rows(engine: Any, tenant: str) -> dict[str, str]:
    """Rows the API would refuse, written straight into SQL; returns event id -> user id."""
    bad = {"bad-year-1": "secret-user-one", "bad-year-9999": "secret-user-two"}
    with engine.begin() as conn:
        conn.execute(events_table.insert(), [
            {"tenant": tenant, "event_id": "bad-year-1", "user_id": "secret-user-one", "resource_id": "r-a",
             "type": "like", "ts": datetime(1, 1, 1, tzinfo=UTC), "source": "api"},
            {"tenant": tenant, "event_id": "bad-year-9999", "user_id": "secret-user-two", "resource_id": "r-b",
             "type": "like", "ts": datetime(9999, 12, 31, tzinfo=UTC), "source": "api"},
        ])
        if engine.dialect.name == "postgresql":
            # before year 1: the driver cannot even read it back
            conn.execute(text("INSERT INTO events (tenant, event_id, user_id, resource_id, type, ts, source) "
                              "VALUES (:t, 'bad-bc', 'secret-user-three', 'r-a', 'like', '0044-03-15 00:00:00+00 BC', 'api')"),
                         {"t": tenant})
            bad["bad-bc"] = "secret-user-three"
        else:
            # not a time at all
            conn.execute(text("INSERT INTO events (tenant, event_id, user_id, resource_id, type, ts, source) "
                              "VALUES (:t, 'bad-garbage', 'secret-user-three', 'r-a', 'like', 'not a time', 'api')"),
                         {"t": tenant})
            bad["bad-garbage"] = "secret-user-three"
    return bad


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def test_store_interactions_skips_and_names_bad_rows(sql_engine) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    from training.store_data import store_interactions

    now = datetime.now(UTC)
    EventStore(sql_engine).add_batch("acme", [
        Event("good-1", "u1", "r-a", "like", now - timedelta(days=2)),
        Event("good-2", "u2", "r-b", "complete", now - timedelta(days=1)),
    ])
    bad = _insert_bad_rows(sql_engine, "acme")
    handler = _Records()
    logger = logging.getLogger("solace.training")
    logger.addHandler(handler)
    try:
        interactions = store_interactions(sql_engine, half_life_days=30)
    finally:
        logger.removeHandler(handler)
    assert {(i.user, i.item) for i in interactions} == {("acme:u1", "r-a"), ("acme:u2", "r-b")}
    assert all(i.weight > 0.5 for i in interactions)  # the 9999 row did not decay the real ones away
    warning = " ".join(handler.messages)
    for event_id, user_id in bad.items():
        assert event_id in warning
        assert user_id not in warning
    assert f"skipped {len(bad)} stored events" in warning
    # a configured window (SOLACE_EVENT_EARLIEST) applies to training as to the API
    from core.events import TimeWindow

    later = store_interactions(sql_engine, window=TimeWindow.bounds(now - timedelta(hours=36), 60))
    assert {(i.user, i.item) for i in later} == {("acme:u2", "r-b")}


def test_solace_train_skips_a_bad_stored_row(sql_engine, deployment, tmp_path: Path, redis_url: str,  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
                                            redis_prefix: str) -> None:
    from storage.tables import embeddings_table, resources_table

    services, _ = deployment
    copy_tables(services.engine, sql_engine, resources_table, embeddings_table)
    items = [r.id for r in services.catalog.servable()[:12]]
    now = datetime.now(UTC)
    EventStore(sql_engine).add_batch("acme", [  # 8 of 12 items for each of 10 users
        Event(f"good-{u}-{i}", f"u{u}", item, "like", now - timedelta(hours=u + i))
        for u in range(10) for i, item in enumerate(items) if (u + i) % 3 != 0
    ])
    bad = _insert_bad_rows(sql_engine, "acme")
    url = sql_engine.url.render_as_string(hide_password=False)
    env = {**os.environ, "SOLACE_HOME": str(tmp_path / "home"), "SOLACE_DATABASE_URL": url,
           "SOLACE_REDIS_URL": redis_url, "SOLACE_REDIS_PREFIX": redis_prefix, "SOLACE_THREADS": "1"}
    solace = Path(sys.executable).with_name("solace")
    # a process of its own, as an operator runs it: its output is what they would read
    for args in (["train", "--algorithm", "popularity"], ["train", "--algorithm", "als", "--split", "time"]):
        result = subprocess.run([str(solace), *args], env=env, capture_output=True, text=True, timeout=600)
        output = result.stdout + result.stderr
        assert result.returncode == 0, output
        for event_id, user_id in bad.items():
            assert event_id in output, output
            assert user_id not in output


def test_restore_and_outage_reads_skip_bad_stored_rows(sql_engine, redis_url: str, redis_prefix: str,  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
                                                        tmp_path: Path) -> None:
    """A row no API would accept (year 1, year 9999, BC or not a time) written straight
    into SQL must not stop Redis being rebuilt, nor an answer during an outage."""
    from core.events import DEFAULT_EVENT_WEIGHTS, TimeWindow
    from serving.fallback import SqlFallback
    from serving.recovery import restore_redis
    from storage.profiles import ProfileStore
    from storage.stores import Stores
    from tests.conftest import make_settings

    settings = make_settings(tmp_path / "home", redis_url, redis_prefix,
                             database_url=sql_engine.url.render_as_string(hide_password=False))
    stores = Stores(settings)
    bad = _insert_bad_rows(sql_engine, "acme")
    good = Event("good-1", "fine-user", "r-a", "like", datetime.now(UTC) - timedelta(hours=1))
    EventStore(sql_engine).add_batch("acme", [good])
    counts = restore_redis(stores)
    assert counts["users"] == 1
    fallback = SqlFallback(sql_engine, EventStore(sql_engine), ProfileStore(sql_engine), dict(DEFAULT_EVENT_WEIGHTS),
                           3600, window=lambda: TimeWindow.of(settings))
    for user in bad.values():
        assert fallback.user_state("acme", user).interactions == {}
    assert fallback.user_state("acme", "fine-user").interactions == {"r-a": DEFAULT_EVENT_WEIGHTS["like"]}
