"""Finding 9 of issue 13: no client input ever causes a 500.

Every endpoint of the app's ``url_map`` is classified by what it reads (a JSON body, a
query string, path values, nothing), so a new endpoint fails this test until it is
covered. Each gets deep nesting, NUL characters, invalid UTF-8, huge numbers, NaN and
Infinity, duplicate keys, a wrong Content-Type and empty bodies, on SQLite and on
PostgreSQL, and every answer must be a 4xx in the error shape
``{"error": {"code", "message", ...}}``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from storage.api_keys import Role
from tests.conftest import make_settings


@dataclass
class Backend:
    """An app on one SQL backend, sharing the session deployment's Redis (model, catalog)."""

    name: str
    app: Any
    client: Any
    resource_id: str
    tenant: str


def copy_tables(source_engine: Any, target_engine: Any, *tables: Any) -> None:
    """Rows of ``tables``, as they are, from one database into another (same schema)."""
    for table in tables:
        with source_engine.connect() as src:
            rows = [dict(r._mapping) for r in src.execute(table.select())]
        with target_engine.begin() as dst:
            dst.execute(table.delete())
            if rows:
                dst.execute(table.insert(), rows)


def build_backend(request: pytest.FixtureRequest, kind: str, deployment: Any, redis_url: str, tenant: str,
                  **overrides: Any) -> Backend:
    """An app with an admin key of ``tenant`` on ``kind`` (sqlite or postgres).

    SQLite is the deployment's own database; PostgreSQL gets a copy of its catalog. Both
    use the deployment's Redis, so the published model and catalog serve as usual.
    """
    from serving.app import create_app
    from storage.api_keys import KeyStore
    from storage.db import get_engine
    from storage.tables import resources_table

    services, _result = deployment
    base = services.settings
    extra = {"rate_limit": "1000000/minute", **overrides}
    if kind == "sqlite":
        settings = make_settings(base.home, redis_url, base.redis_prefix, **extra)
        engine = services.engine
    else:
        url = request.getfixturevalue("postgres_url")
        settings = make_settings(base.home, redis_url, base.redis_prefix, database_url=url, **extra)
        engine = get_engine(url)
        copy_tables(services.engine, engine, resources_table)
    from storage.staff import StaffRole, StaffStore

    # bound to a named admin, so the catalog's write paths meet the hostile input too
    StaffStore(engine).create(f"{tenant}-admin", StaffRole.ADMIN, "correct horse battery", tenant)
    _key, secret = KeyStore(engine).create(tenant, Role.ADMIN, reviewer=True, staff=f"{tenant}-admin")
    app = create_app(settings)
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {secret}"
    return Backend(kind, app, client, services.catalog.servable()[0].id, tenant)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, deployment, redis_url: str) -> Backend:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    return build_backend(request, request.param, deployment, redis_url, f"hostile-{request.param}")


# --------------------------------------------------------------------------- inputs
DEEP_ARRAY = b"[" * 5000 + b"]" * 5000
DEEP_OBJECT = b'{"a":' * 5000 + b"1" + b"}" * 5000
DEEP_IN_FIELD = b'{"events": ' + b"[" * 5000 + b"]" * 5000 + b"}"
HUGE_DIGITS = b"9" * 400
HOSTILE_BODIES: list[tuple[str, bytes, str | None]] = [
    ("deep array", DEEP_ARRAY, "application/json"),
    ("deep object", DEEP_OBJECT, "application/json"),
    ("deep inside a field", DEEP_IN_FIELD, "application/json"),
    ("NUL escape in a value", b'{"k": "a\\u0000b"}', "application/json"),
    ("NUL escape in a key", b'{"a\\u0000": 1}', "application/json"),
    ("raw NUL in a string", b'{"k": "a\x00b"}', "application/json"),
    ("raw NUL alone", b"\x00", "application/json"),
    ("raw NUL after the object", b'{"k": 1}\x00', "application/json"),
    ("invalid UTF-8 in a string", b'{"k": "\xff\xfe"}', "application/json"),
    ("invalid UTF-8 alone", b"\xc3\x28", "application/json"),
    ("UTF-16 body", '{"k": 1}'.encode("utf-16"), "application/json"),
    ("lone surrogate escape", b'{"k": "\\ud800"}', "application/json"),
    ("C0 control escape", b'{"k": "a\\u0007b"}', "application/json"),
    ("1e400", b'{"k": 1e400}', "application/json"),
    ("-1e400", b'{"k": -1e400}', "application/json"),
    ("10**400 as digits", b'{"k": ' + HUGE_DIGITS + b"}", "application/json"),
    ("10**5000 as digits", b'{"k": ' + b"9" * 5000 + b"}", "application/json"),
    ("NaN", b'{"k": NaN}', "application/json"),
    ("Infinity", b'{"k": Infinity}', "application/json"),
    ("-Infinity", b'{"k": -Infinity}', "application/json"),
    ("duplicate keys", b'{"k": 1, "k": 2}', "application/json"),
    ("text/plain", b'{"k": 10}', "text/plain"),
    ("form encoded", b"k=10", "application/x-www-form-urlencoded"),
    ("no Content-Type", b'{"k": 10}', None),
    ("empty body", b"", "application/json"),
    ("whitespace body", b"  \n ", "application/json"),
    ("a JSON array", b"[]", "application/json"),
    ("JSON null", b"null", "application/json"),
    ("truncated", b'{"k": ', "application/json"),
]


def _valid_bodies(resource_id: str) -> dict[str, dict[str, Any]]:
    """A body each JSON endpoint would accept, to carry hostile values in real fields."""
    return {
        "recommendations.contextual_recommendations": {"k": 5, "features": ["topic:sleep"]},
        "events.post_events": {"events": [{"event_id": "hostile-1", "user_id": "u-hostile", "resource_id": resource_id,
                                           "type": "click", "timestamp": "2026-01-01T00:00:00Z"}]},
        "users.put_user": {"features": ["topic:sleep"], "locale": "en"},
        "catalog.create_resource": {"id": "hostile-new", "type": "article", "title": "t", "summary": "s",
                                    "body": "b", "topics": ["sleep"]},
        "catalog.patch_resource": {"title": "A title"},
        "catalog.review_resource": {"action": "submit"},
        "analytics.decide_flag": {"decision": "kept", "comment": "a reviewer's reason"},
        "experiments.create_experiment": {"experiment_id": "hostile", "description": "d", "arms": [
            {"name": "a", "model_version": "v1", "share": 1}, {"name": "b", "model_version": "v2", "share": 0.5,
                                                                "max_topic_share": 0.3}]},
    }


def _hostile_values() -> list[tuple[str, str]]:
    """Raw JSON texts put in place of each string and number of a valid body."""
    return [("NUL", '"a\\u0000b"'), ("lone surrogate", '"\\udfff"'), ("bell", '"a\\u0007"'),
            ("1e400", "1e400"), ("10**400", HUGE_DIGITS.decode()), ("NaN", "NaN"),
            ("deep", "[" * 3000 + "]" * 3000), ("huge int as a time", "1" + "0" * 30)]


def _mutations(body: dict[str, Any]) -> Iterator[tuple[str, bytes]]:
    """The body with one leaf at a time replaced by each hostile value."""
    import json

    marker = "__HOSTILE__"

    def leaves(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
        if isinstance(node, dict):
            for key, value in node.items():
                yield from leaves(value, (*path, key))
        elif isinstance(node, list):
            for n, value in enumerate(node):
                yield from leaves(value, (*path, n))
        else:
            yield path

    for path in leaves(body):
        copy = json.loads(json.dumps(body))
        node = copy
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = marker
        text = json.dumps(copy)
        for name, raw in _hostile_values():
            yield f"{'.'.join(map(str, path))}={name}", text.replace(f'"{marker}"', raw).encode()


HOSTILE_QUERIES = [
    "k=%00", "q=%00", "q=a%00b", "q=%FF%FE", "q=%ED%A0%80", "locale=%00", "types=%00", "topic=%00",
    "status=%00", "k=1e400", f"k={'9' * 400}", f"k={'9' * 5000}", "k=NaN", "k=Infinity", "k=-Infinity",
    "k=1&k=2", "q=a&q=b", "zzz=1", "q=" + "%5B" * 5000, "offset=-1", "limit=1e400", "q=%07",
]
HOSTILE_PATHS = ["%00", "a%00b", "%FF", "%ED%A0%80", "%07", "x" * 5000, "%5B*%3F%5D"]

# What each endpoint reads from the client. A new endpoint must be added here.
BODY, QUERY, PATH, NONE = "body", "query", "path", "none"
ENDPOINT_INPUTS: dict[str, set[str]] = {
    "recommendations.user_recommendations": {QUERY, PATH},
    "recommendations.contextual_recommendations": {BODY},
    "events.post_events": {BODY},
    "users.put_user": {BODY, PATH},
    "users.delete_user": {PATH},
    "users.get_user": {PATH},
    "resources.search": {QUERY},
    "resources.similar": {QUERY, PATH},
    "catalog.list_resources": {QUERY},
    "catalog.create_resource": {BODY},
    "catalog.get_resource": {PATH},
    "catalog.patch_resource": {BODY, PATH},
    "catalog.review_resource": {BODY, PATH},
    "feed.catalog_feed": {QUERY},
    "analytics.resources": {QUERY},
    "analytics.list_flags": {QUERY},
    "analytics.decide_flag": {BODY, PATH},
    "experiments.create_experiment": {BODY},
    "experiments.list_experiments": {NONE},
    "experiments.read_experiment": {PATH},
    "experiments.start_experiment": {PATH},
    "experiments.stop_experiment": {PATH},
}
# Endpoints that read nothing from the client: hostile input must still never be a 5xx.
INPUT_FREE = {"static", "health.healthz", "health.readyz", "health.metrics", "docs.openapi_json",
              "swagger_ui.show"}
# spectree's own documentation pages; the console's HTML pages (not the JSON API: what they
# read is tested in tests/test_console.py, and here hostile input must never be a 5xx)
INPUT_FREE_PREFIXES = ("openapi_apidoc", "console.")


def _input_free(endpoint: str) -> bool:
    return endpoint in INPUT_FREE or endpoint.startswith(INPUT_FREE_PREFIXES)


def _rules(app: Any) -> list[tuple[Any, str]]:
    out = []
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            out.append((rule, method))
    return out


def _url(rule: Any, backend: Backend, path_value: str | None = None) -> str:
    values = {}
    for arg in rule.arguments:
        if path_value is not None:
            values[arg] = path_value
        elif arg == "user_id":
            values[arg] = "u-hostile"
        elif arg == "resource_id":
            values[arg] = backend.resource_id
        else:
            values[arg] = "index.html"
    url = rule.rule
    for arg, value in values.items():
        url = url.replace(f"<{arg}>", value).replace(f"<path:{arg}>", value)
    return url


def _check_4xx(response: Any, what: str) -> None:
    assert 400 <= response.status_code < 500, f"{what}: {response.status_code} {response.get_data()[:300]!r}"
    assert response.is_json, f"{what}: not JSON: {response.get_data()[:200]!r}"
    error = response.get_json()["error"]
    assert isinstance(error["code"], str) and error["code"], what
    assert isinstance(error["message"], str) and error["message"], what


def _send(backend: Backend, method: str, url: str, data: bytes | None = None,
          content_type: str | None = None) -> Any:
    headers = {"Content-Type": content_type} if content_type else {}
    if method == "PATCH":
        headers["If-Match"] = '"999999"'  # a stale version: a valid body still changes nothing
    return backend.client.open(url, method=method, data=data, headers=headers)


def test_every_endpoint_is_classified(backend: Backend) -> None:
    endpoints = {rule.endpoint for rule, _method in _rules(backend.app)}
    unknown = {e for e in endpoints - set(ENDPOINT_INPUTS) if not _input_free(e)}
    assert not unknown, f"classify these endpoints in ENDPOINT_INPUTS or INPUT_FREE: {sorted(unknown)}"
    assert set(ENDPOINT_INPUTS) <= endpoints


def test_hostile_bodies_are_4xx_json_errors(backend: Backend) -> None:
    bodies = _valid_bodies(backend.resource_id)
    checked = 0
    for rule, method in _rules(backend.app):
        if BODY not in ENDPOINT_INPUTS.get(rule.endpoint, set()) or method not in ("POST", "PUT", "PATCH"):
            continue
        url = _url(rule, backend)
        for name, data, content_type in HOSTILE_BODIES:
            _check_4xx(_send(backend, method, url, data, content_type), f"{method} {rule.rule} {name}")
            checked += 1
        for name, data in _mutations(bodies[rule.endpoint]):
            response = _send(backend, method, url, data, "application/json")
            _check_4xx(response, f"{method} {rule.rule} {name}")
            checked += 1
    assert checked > 200


def test_hostile_query_strings_are_4xx_json_errors(backend: Backend) -> None:
    for rule, method in _rules(backend.app):
        if QUERY not in ENDPOINT_INPUTS.get(rule.endpoint, set()):
            continue
        url = _url(rule, backend)
        for query in HOSTILE_QUERIES:
            _check_4xx(_send(backend, method, f"{url}?{query}"), f"{method} {rule.rule}?{query[:40]}")


def test_hostile_path_values_are_4xx_json_errors(backend: Backend) -> None:
    bodies = _valid_bodies(backend.resource_id)
    for rule, method in _rules(backend.app):
        if PATH not in ENDPOINT_INPUTS.get(rule.endpoint, set()):
            continue
        for value in HOSTILE_PATHS:
            body = bodies.get(rule.endpoint)
            data = None if body is None else __import__("json").dumps(body).encode()
            response = _send(backend, method, _url(rule, backend, value), data,
                             "application/json" if data else None)
            _check_4xx(response, f"{method} {rule.rule} with {value[:20]}")


def test_endpoints_that_read_nothing_never_fail_on_hostile_input(backend: Backend) -> None:
    for rule, method in _rules(backend.app):
        if rule.endpoint in ENDPOINT_INPUTS:
            continue
        url = _url(rule, backend)
        for query in HOSTILE_QUERIES[:6]:
            assert _send(backend, method, f"{url}?{query}").status_code < 500, (rule.rule, query)
        for name, data, content_type in HOSTILE_BODIES[:10]:
            assert _send(backend, method, url, data, content_type).status_code < 500, (rule.rule, name)


def test_nothing_stored_changed_after_hostile_input(backend: Backend) -> None:
    """The hostile requests above left no event, profile or resource behind."""
    from sqlalchemy import func, select

    from storage.tables import events_table, profiles_table, resources_table

    engine = backend.app.extensions["solace"].engine
    with engine.connect() as conn:
        for table in (events_table, profiles_table):
            count = conn.execute(select(func.count()).select_from(table).where(table.c.tenant == backend.tenant)).scalar()
            assert count == 0, table.name
        assert conn.execute(select(func.count()).select_from(resources_table)
                            .where(resources_table.c.id == "hostile-new")).scalar() == 0


@pytest.mark.parametrize(("text", "depth"), [
    (b'{"a": 1}', 1),
    (b'{"a": "' + b"[" * 100 + b'"}', 1),  # brackets inside a string do not count
    (b'{"a": "\\"' + b"[" * 100 + b'"}', 1),  # nor after an escaped quote inside it
    (b'{"a": "\\\\", "b": ' + b"[" * 40 + b"]" * 40 + b"}", 41),  # an escaped backslash ends no string
    (b'{"a": "' + b"]" * 100 + b'", "b": ' + b"[" * 40 + b"]" * 40 + b"}", 41),  # closers in strings hide nothing
    (b"[" * 5000, 5000),  # unclosed
])
def test_nesting_depth_is_counted_as_the_parser_reads_it(text: bytes, depth: int) -> None:
    from serving.safe_json import nesting_depth

    assert nesting_depth(text) == depth


def test_the_parser_accepts_ordinary_json_unchanged() -> None:
    import json

    from serving.safe_json import parse_json_body

    body = {"events": [{"event_id": f"e{n}", "text": "tab\there\nnew line \u00e9 \U0001F600 [{\"}]",
                        "n": n, "x": 1.5e300, "ok": True, "none": None} for n in range(200)]}
    assert parse_json_body(json.dumps(body).encode()) == body
    assert parse_json_body(json.dumps(body, ensure_ascii=False).encode()) == body
