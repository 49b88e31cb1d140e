"""Issue 13, findings 4, 5, 6 and 10: catalog review and ownership that no path bypasses
(editor API, command line, import), and an exact CSV round trip.

SQL-backed tests run on SQLite and on PostgreSQL; "served" is checked on the catalog that
``publish_catalog`` pushes to Redis (what serving reads) and, for tenant-private resources,
on real recommendation answers.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import redis
from click.testing import CliRunner
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from content_catalog.access import Actor, Forbidden, NotFound
from content_catalog.io import read_catalog_file, write_catalog
from content_catalog.publish import publish_catalog
from content_catalog.schema import Resource
from content_catalog.seed import load_seed_catalog
from content_catalog.store import CatalogStore
from recommender.catalog_view import CatalogView
from recommender.policy import PolicyRequest, apply_policy, crisis_rows, violates_policy
from storage.api_keys import Role
from storage.keyspace import Keyspace
from tests.conftest import add_staff, make_settings, staff_key

US_988, INTL = "crisis-us-988-lifeline", "crisis-intl-find-a-helpline"
SEEDED = {US_988, INTL}
TRUSTED = Actor("rev-setup", global_staff=True, reviewer=True)
EXERCISE = {
    "id": "ex-box-breathing-trust", "type": "exercise", "title": "Box breathing",
    "summary": "Breathe in four counts, hold four, out four, hold four.",
    "steps": ["Breathe in for four counts.", "Hold for four counts.", "Breathe out for four."],
    "topics": ["anxiety"], "duration_minutes": 3, "url": "https://example.org/box",
    "locales": ["en"],
}
ARTICLE = {
    "id": "art-demo-private-draft", "type": "article", "title": "A note for demo users",
    "summary": "Something only demo's editors wrote for demo's users.",
    "body": "Body of a private article.", "topics": ["sleep"], "duration_minutes": 2,
}


# --------------------------------------------------------------------------- fixtures
@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database URL on SQLite and, in a second run, on an emptied PostgreSQL database."""
    from storage.db import get_engine
    from storage.tables import metadata

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'solace.db'}"
        get_engine(url)
        return url
    url = request.getfixturevalue("postgres_url")
    with get_engine(url).begin() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(table.delete())
    return url


def _seed(store: CatalogStore, extra: list[dict] | None = None) -> None:
    """Two bundled crisis lines and an approved exercise in the global catalog."""
    chosen = [r for r in load_seed_catalog() if r.id in SEEDED]
    chosen += [Resource.model_validate(e) for e in (extra or [EXERCISE])]
    store.import_resources(chosen, TRUSTED, approve=True, trusted=True)


def _served(client: redis.Redis, keys: Keyspace) -> dict[str, dict]:
    """The catalog serving reads: the cards publish_catalog pushed to Redis."""
    return {k.decode(): json.loads(v) for k, v in client.hgetall(keys.catalog_items).items()}


@pytest.fixture
def cli_env(tmp_path: Path, db_url: str, redis_url: str, redis_prefix: str):  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    from storage.db import get_engine

    env = {"SOLACE_HOME": str(tmp_path / "h"), "SOLACE_REDIS_URL": redis_url,
           "SOLACE_REDIS_PREFIX": redis_prefix, "SOLACE_DATABASE_URL": db_url}
    store = CatalogStore(get_engine(db_url))
    # the people the command line's --actor names (checked accounts)
    add_staff(store.engine, "mallory", "ed")
    add_staff(store.engine, "dr-rev", "rev", reviewer=True)
    client = redis.Redis.from_url(redis_url)
    return env, store, client, Keyspace(redis_prefix)


@pytest.fixture
def editor_api(tmp_path: Path, db_url: str, redis_url: str, redis_prefix: str):  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    """An app on a fresh catalog, with keys of global staff and of two tenants."""
    from serving.app import create_app
    from solace.services import Services

    settings = make_settings(tmp_path / "home", redis_url, redis_prefix, database_url=db_url)
    services = Services(settings)
    _seed(services.catalog)
    publish_catalog(services.catalog, services.redis, services.keys)
    client = create_app(settings).test_client()

    def key(tenant: str, reviewer: bool = False, global_staff: bool = False) -> dict[str, str]:
        # each key acts as its own named person
        name = f"{'global' if global_staff else tenant}-{'reviewer' if reviewer else 'editor'}"
        secret = staff_key(services, tenant, name, reviewer=reviewer, global_staff=global_staff)
        return {"Authorization": f"Bearer {secret}"}

    keys = {
        "global_editor": key("ops", global_staff=True),
        "global_reviewer": key("ops", reviewer=True, global_staff=True),
        "demo_editor": key("demo"), "demo_reviewer": key("demo", reviewer=True),
        "acme_editor": key("acme"), "acme_reviewer": key("acme", reviewer=True),
    }
    return client, services, keys


def _assert_approved(store: CatalogStore, ids: tuple[str, ...], reviewer: str, exercise_steps: list[str]) -> None:
    """Each of ``ids`` approved by ``reviewer``, and the exercise's new steps the approved text."""
    for rid in ids:
        stored = store.get(rid)
        assert stored.resource.status == "approved" and stored.resource.reviewed_by == reviewer
    assert store.get(EXERCISE["id"]).approved.steps == exercise_steps


def _assert_error(response, status: int) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    assert response.status_code == status, response.json
    assert set(response.json) == {"error"} and {"code", "message"} <= set(response.json["error"])


# --------------------------------------------------------------------------- finding 4: import
def test_import_never_trusts_status_or_reviewer_and_steps_changes_go_to_review(cli_env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    from solace.cli import cli

    env, store, client, keys = cli_env
    _seed(store)
    runner = CliRunner()
    malicious = {**ARTICLE, "id": "art-mallory", "status": "approved", "reviewed_by": "mallory",
                 "reviewed_at": "2026-01-01T00:00:00Z"}
    changed = {**EXERCISE, "steps": ["Hold your breath as long as you can.", "Then hold it longer."],
               "status": "approved", "reviewed_by": "solace-seed-review"}
    path = tmp_path / "evil.json"
    path.write_text(json.dumps([malicious, changed]))

    r = runner.invoke(cli, ["catalog", "import", str(path), "--actor", "mallory"], env=env)
    assert r.exit_code == 0, r.output
    assert "1 created, 1 updated, 0 unchanged" in r.output
    new = store.get("art-mallory")
    assert new.resource.status == "draft" and new.resource.reviewed_by is None and new.approved is None
    ex = store.get(EXERCISE["id"])
    assert ex.resource.status == "in_review" and ex.resource.reviewed_by is None
    assert ex.approved.steps == EXERCISE["steps"] and ex.approved.reviewed_by == "rev-setup"
    served = _served(client, keys)
    assert "art-mallory" not in served and EXERCISE["id"] in served
    assert [r.steps for r in store.servable() if r.id == EXERCISE["id"]] == [EXERCISE["steps"]]
    assert "mallory" not in {s.resource.reviewed_by for s in store.iter_all()}

    # re-importing the same file changes nothing
    before = [(s.resource.id, s.version) for s in store.iter_all()]
    r = runner.invoke(cli, ["catalog", "import", str(path), "--actor", "mallory"], env=env)
    assert r.exit_code == 0 and "0 created, 0 updated, 2 unchanged" in r.output
    assert [(s.resource.id, s.version) for s in store.iter_all()] == before

    # asking to approve without the reviewer right is one error line, and changes nothing
    r = runner.invoke(cli, ["catalog", "import", str(path), "--approve", "--actor", "mallory"], env=env)
    assert r.exit_code != 0 and r.output.strip().splitlines()[-1].startswith("Error:")
    assert [(s.resource.id, s.version) for s in store.iter_all()] == before

    # a reviewer who asks approves the file's text, recorded as that reviewer
    r = runner.invoke(cli, ["catalog", "import", str(path), "--approve", "--actor", "dr-rev", "--reviewer"], env=env)
    assert r.exit_code == 0, r.output
    assert "2 approved" in r.output
    _assert_approved(store, ("art-mallory", EXERCISE["id"]), "dr-rev", changed["steps"])
    assert {"art-mallory", EXERCISE["id"]} <= set(_served(client, keys))


def test_a_reviewer_never_approves_their_own_import(cli_env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    """Four eyes hold for imports too: `import --approve` by a reviewer sends their own new
    and changed records to review (the approved text keeps serving), their own
    approve-pending leaves them there, and a second reviewer's approves them."""
    from solace.cli import cli

    env, store, client, keys = cli_env
    _seed(store)
    runner = CliRunner()
    own = {**ARTICLE, "id": "art-own-import"}
    changed = {**EXERCISE, "steps": ["Breathe in for a count of four.", "Breathe out for a count of six."]}
    path = tmp_path / "mine.json"
    path.write_text(json.dumps([own, changed]))
    r = runner.invoke(cli, ["catalog", "import", str(path), "--approve", "--actor", "dr-rev", "--reviewer"], env=env)
    assert r.exit_code == 0, r.output
    assert "0 approved" in r.output and "2 sent to review" in r.output
    new = store.get("art-own-import")
    assert new.resource.status == "in_review" and new.approved is None and new.resource.reviewed_by is None
    ex = store.get(EXERCISE["id"])
    assert ex.resource.status == "in_review" and ex.approved.steps == EXERCISE["steps"]
    served = _served(client, keys)
    assert "art-own-import" not in served
    assert [r.steps for r in store.servable() if r.id == EXERCISE["id"]] == [EXERCISE["steps"]]

    r = runner.invoke(cli, ["catalog", "approve-pending", "--actor", "dr-rev", "--reviewer"], env=env)
    assert r.exit_code == 0, r.output
    assert "0 approved, 2 left in review" in r.output and "art-own-import" in r.output
    r = runner.invoke(cli, ["catalog", "approve-pending", "--actor", "mallory", "--reviewer"], env=env)
    assert r.exit_code != 0 and r.output.strip().splitlines()[-1].startswith("Error:")
    assert store.get("art-own-import").resource.status == "in_review"

    r = runner.invoke(cli, ["catalog", "approve-pending", "--actor", "rev", "--reviewer", "--comment", "read both"],
                      env=env)
    assert r.exit_code == 0, r.output
    assert "2 approved, 0 left in review" in r.output
    _assert_approved(store, ("art-own-import", EXERCISE["id"]), "rev", changed["steps"])
    assert "art-own-import" in _served(client, keys)


def test_import_respects_ownership_and_crisis_rule_all_or_nothing(db_url: str) -> None:
    from storage.db import get_engine

    store = CatalogStore(get_engine(db_url))
    _seed(store)
    intl = next(r for r in load_seed_catalog() if r.id == INTL)
    hijack = Resource.model_validate({**intl.model_dump(mode="json", exclude_none=True),
                                      "summary": "Call this premium-rate number instead, anytime."})
    fresh = Resource.model_validate({**ARTICLE, "id": "art-acme-fresh"})
    acme = Actor("acme-ed", tenant="acme")
    versions = {s.resource.id: s.version for s in store.iter_all()}
    from content_catalog.store import ImportRejected

    with pytest.raises(ImportRejected) as info:  # acme staff may not change the global catalog
        store.import_resources([fresh, hijack], acme)
    assert [p[0] for p in info.value.problems] == [1]
    assert store.get("art-acme-fresh") is None  # all or nothing
    with pytest.raises(ImportRejected):  # global staff without the reviewer right: a crisis line
        store.import_resources([hijack], Actor.operator("ops-ed"))
    assert {s.resource.id: s.version for s in store.iter_all()} == versions

    # a tenant's import is private to it, and invisible to other tenants
    assert store.import_resources([fresh], acme)["created"] == 1
    assert store.get("art-acme-fresh").owner_tenant == "acme"
    assert store.get("art-acme-fresh", viewer=Actor("x", tenant="demo")) is None


# --------------------------------------------------------------------------- finding 5: review
@pytest.mark.parametrize("change", [
    {"url": "https://scam.example.com/pay"},
    {"summary": "Stop taking your medication and breathe instead."},
    {"locales": ["en", "fr"]},
    {"title": "Box breathing, the only cure"},
    {"duration_minutes": 60},
])
def test_a_non_reviewer_patch_of_what_users_read_or_reach_does_not_go_live(editor_api, change) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    client, services, keys = editor_api
    rid = EXERCISE["id"]
    before = _served(services.redis, services.keys)[rid]
    r = client.patch(f"/v1/resources/{rid}", json=change, headers=keys["global_editor"])
    assert r.status_code == 200, r.json
    assert r.json["resource"]["status"] == "in_review" and r.json["approved_version_served"]
    assert _served(services.redis, services.keys)[rid] == before
    served = next(x for x in services.catalog.servable() if x.id == rid)
    for field, value in change.items():
        assert getattr(served, field) != value and str(getattr(served, field)) != str(value)
    # only a reviewer's approval makes it live, recorded as that reviewer: a person, not a key
    ok = client.post(f"/v1/resources/{rid}/review", json={"action": "approve"}, headers=keys["global_reviewer"])
    assert ok.status_code == 200 and ok.json["resource"]["reviewed_by"] == "global-reviewer"
    served = next(x for x in services.catalog.servable() if x.id == rid)
    assert all(str(getattr(served, f)) == str(v) for f, v in change.items())


def test_tags_are_the_one_exempt_field(editor_api) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    client, services, keys = editor_api
    r = client.patch(f"/v1/resources/{EXERCISE['id']}", json={"tags": ["breathing"]}, headers=keys["global_editor"])
    assert r.status_code == 200 and r.json["resource"]["status"] == "approved"
    assert _served(services.redis, services.keys)[EXERCISE["id"]]["tags"] == ["breathing"]


def test_crisis_lines_need_the_reviewer_right_and_unretire_is_reviewed(editor_api) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    client, services, keys = editor_api
    ed, rv = keys["global_editor"], keys["global_reviewer"]
    denied = client.post(f"/v1/resources/{US_988}/review", json={"action": "retire"}, headers=ed)
    _assert_error(denied, 403)
    assert denied.json["error"]["code"] == "forbidden"
    _assert_error(client.patch(f"/v1/resources/{US_988}", json={"tags": ["x-y"]}, headers=ed), 403)
    assert US_988 in _served(services.redis, services.keys)

    assert client.post(f"/v1/resources/{US_988}/review", json={"action": "retire"}, headers=rv).status_code == 200
    assert US_988 not in _served(services.redis, services.keys)
    _assert_error(client.patch(f"/v1/resources/{US_988}", json={"title": "Back"}, headers=rv), 409)

    # un-retire: back to review, not served until a reviewer approves
    r = client.post(f"/v1/resources/{US_988}/review", json={"action": "unretire"}, headers=ed)
    assert r.status_code == 200 and r.json["resource"]["status"] == "in_review"
    assert r.json["approved_version_served"] is False
    assert US_988 not in _served(services.redis, services.keys)
    assert US_988 not in {x.id for x in services.catalog.servable()}
    _assert_error(client.post(f"/v1/resources/{US_988}/review", json={"action": "approve"}, headers=ed), 403)
    assert client.post(f"/v1/resources/{US_988}/review", json={"action": "approve"}, headers=rv).status_code == 200
    assert US_988 in _served(services.redis, services.keys)
    _assert_error(client.post(f"/v1/resources/{US_988}/review", json={"action": "unretire"}, headers=rv), 409)


def test_cli_unretire_and_crisis_retire_need_review(cli_env) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    from solace.cli import cli

    env, store, client, keys = cli_env
    _seed(store)
    runner = CliRunner()
    r = runner.invoke(cli, ["catalog", "retire", US_988, "--actor", "ed"], env=env)
    assert r.exit_code != 0 and r.output.strip().splitlines() == [
        f"Error: {US_988} is a crisis line: retiring it needs the reviewer right"]
    assert store.get(US_988).resource.status == "approved"
    assert runner.invoke(cli, ["catalog", "retire", US_988, "--actor", "rev", "--reviewer"], env=env).exit_code == 0
    r = runner.invoke(cli, ["catalog", "review", US_988, "--action", "unretire", "--actor", "ed"], env=env)
    assert r.exit_code == 0 and "in_review" in r.output
    assert US_988 not in _served(client, keys)
    r = runner.invoke(cli, ["catalog", "review", US_988, "--action", "approve", "--actor", "rev", "--reviewer"], env=env)
    assert r.exit_code == 0 and US_988 in _served(client, keys)
    assert store.get(US_988).resource.reviewed_by == "rev"


# --------------------------------------------------------------------------- finding 6: ownership
def test_another_tenant_cannot_change_global_or_private_resources(editor_api) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    client, services, keys = editor_api
    acme, acme_rv = keys["acme_editor"], keys["acme_reviewer"]
    for headers in (acme, acme_rv):
        _assert_error(client.post(f"/v1/resources/{INTL}/review", json={"action": "retire"}, headers=headers), 403)
        _assert_error(client.patch(f"/v1/resources/{EXERCISE['id']}", json={"tags": ["a-b"]}, headers=headers), 403)
    assert INTL in _served(services.redis, services.keys)
    assert client.get(f"/v1/resources/{INTL}", headers=acme).status_code == 200  # it may read it

    demo = keys["demo_editor"]
    r = client.post("/v1/resources", json=ARTICLE, headers=demo)
    assert r.status_code == 201 and r.json["owner_tenant"] == "demo"
    rid = ARTICLE["id"]
    for headers in (acme, acme_rv, keys["global_reviewer"]):  # not even global staff of another tenant
        _assert_error(client.get(f"/v1/resources/{rid}", headers=headers), 404)
        _assert_error(client.patch(f"/v1/resources/{rid}", json={"title": "Hijacked"}, headers=headers), 404)
        for action in ("submit", "retire"):
            _assert_error(client.post(f"/v1/resources/{rid}/review", json={"action": action}, headers=headers), 404)
        listed = client.get("/v1/resources?limit=500", headers=headers).json["items"]
        assert rid not in {i["resource"]["id"] for i in listed}
    assert {i["resource"]["id"] for i in client.get("/v1/resources?limit=500", headers=demo).json["items"]} >= {rid, INTL}
    stored = services.catalog.get(rid)
    assert stored.version == 1 and stored.resource.status == "draft"
    assert [h["action"] for h in services.catalog.history(rid)] == ["create"]
    # demo's own staff work on it as usual; it is served to no one before approval
    assert client.patch(f"/v1/resources/{rid}", json={"title": "A note for you"}, headers=demo).status_code == 200
    assert client.post(f"/v1/resources/{rid}/review", json={"action": "submit"}, headers=demo).status_code == 200
    _assert_error(client.post(f"/v1/resources/{rid}/review", json={"action": "approve"}, headers=demo), 403)
    assert client.post(f"/v1/resources/{rid}/review", json={"action": "approve"},
                       headers=keys["demo_reviewer"]).status_code == 200
    assert _served(services.redis, services.keys)[rid]["owner_tenant"] == "demo"


def test_store_rule_is_the_same_without_the_api(db_url: str) -> None:
    from storage.db import get_engine

    store = CatalogStore(get_engine(db_url))
    _seed(store)
    acme = Actor("acme-ed", tenant="acme", reviewer=True)
    with pytest.raises(Forbidden):
        store.review(INTL, "retire", acme)
    demo = Actor("demo-ed", tenant="demo")
    store.create(Resource.model_validate(ARTICLE), demo)
    with pytest.raises(NotFound):
        store.edit(ARTICLE["id"], {"title": "Hijacked"}, acme)
    with pytest.raises(NotFound):
        store.review(ARTICLE["id"], "retire", acme)
    with pytest.raises(Forbidden):  # the operator must name the tenant to change its resources
        store.review(ARTICLE["id"], "retire", Actor.operator("ops"))
    store.review(ARTICLE["id"], "retire", Actor.operator("ops", tenant="demo"))
    assert [s.resource.id for s in store.page(viewer=acme)[0]] == sorted([EXERCISE["id"], *SEEDED])


def test_tenant_private_resources_are_served_only_to_their_tenant(app_client, deployment) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    services, _result = deployment
    acme_ed = staff_key(services, "acme", "acme-trust-author")
    acme_rv = staff_key(services, "acme", "acme-trust-reviewer", reviewer=True)
    _k, acme_platform = services.api_keys.create("acme", Role.PLATFORM)
    ed = {"Authorization": f"Bearer {acme_ed}"}
    acme = {"Authorization": f"Bearer {acme_platform}"}
    new = {**EXERCISE, "id": "ex-acme-private-grounding", "title": "Acme's own grounding walk",
           "steps": ["Walk slowly and name five things you see.", "Notice four sounds around you."]}
    assert app_client.post("/v1/resources", json=new, headers=ed).status_code == 201
    assert app_client.post(f"/v1/resources/{new['id']}/review", json={"action": "submit"}, headers=ed).status_code == 200
    approved = app_client.post(f"/v1/resources/{new['id']}/review", json={"action": "approve"},
                               headers={"Authorization": f"Bearer {acme_rv}"})
    assert approved.status_code == 200
    body = {"features": ["topic:anxiety"], "k": 100, "types": ["exercise"]}
    for_acme = app_client.post("/v1/recommendations", json=body, headers=acme).json["items"]
    for_demo = app_client.post("/v1/recommendations", json=body).json["items"]
    assert new["id"] in {i["resource_id"] for i in for_acme}
    assert new["id"] not in {i["resource_id"] for i in for_demo}
    assert app_client.get(f"/v1/resources/{new['id']}/similar?k=3").status_code == 404
    assert app_client.get(f"/v1/resources/{new['id']}/similar?k=3", headers=acme).status_code == 200
    search = app_client.get("/v1/resources/search?q=grounding+walk+five+things&k=50").json["items"]
    assert new["id"] not in {i["resource_id"] for i in search}


def _view() -> CatalogView:
    base = {"type": "exercise", "title": "t", "topics": ["anxiety"], "locales": ["en"]}
    cards = {
        "ex-global": dict(base),
        "ex-acme": {**base, "owner_tenant": "acme"},
        "ex-demo": {**base, "owner_tenant": "demo"},
        "crisis-acme": {**base, "type": "article", "is_crisis_resource": True, "country": "INTL",
                        "owner_tenant": "acme"},
        "crisis-intl": {**base, "type": "article", "is_crisis_resource": True, "country": "INTL"},
    }
    return CatalogView.build(list(cards), cards)


@pytest.mark.parametrize("tenant", [None, "acme", "demo", "other"])
def test_policy_masks_other_tenants_private_resources(tenant: str | None) -> None:
    import numpy as np

    view = _view()
    req = PolicyRequest(tenant=tenant, risk=True, max_topic_share=1, max_heavy_share=1)
    crisis, ranked = apply_policy(view, np.ones(len(view.item_ids), dtype=np.float32), 10, req)
    got = {view.item_ids[r] for r in crisis + ranked}
    expected = {"ex-global", "crisis-intl"} | ({f"ex-{tenant}"} if tenant in ("acme", "demo") else set())
    expected |= {"crisis-acme"} if tenant == "acme" else set()
    assert got == expected
    assert violates_policy(view, crisis + ranked, req, 10) == []
    other = [view.item_ids.index("ex-demo" if tenant != "demo" else "ex-acme")]
    assert any("private" in p for p in violates_policy(view, other, req, 10))
    assert {view.item_ids[r] for r in crisis_rows(view, "en-US", tenant=tenant)} <= expected


# --------------------------------------------------------------------------- finding 10: CSV
NASTY_STEPS = ["Breathe in | hold | out", "Line one\nline two\r\nline three\rend",
               'She said "stop", then, calmly, ok', "Ünïcødé ✓ 呼吸 🫁 \u2028 sep", "  padded  "]


@pytest.mark.parametrize("fmt", ["csv", "json", "jsonl", "yaml"])
def test_round_trip_is_exact_for_hostile_steps(tmp_path: Path, fmt: str) -> None:
    resource = Resource.model_validate({**EXERCISE, "steps": NASTY_STEPS, "tags": ["a-b", "cd"],
                                        "body": "Body, with \"quotes\" | pipes\nand lines"})
    path = tmp_path / f"c.{fmt}"
    path.write_bytes(write_catalog([resource], fmt).encode("utf-8"))
    assert [r.model_dump() for r in read_catalog_file(path)] == [resource.model_dump()]


def test_csv_of_the_older_pipe_format_is_still_read(tmp_path: Path) -> None:
    path = tmp_path / "old.csv"
    path.write_text(
        "id,type,title,summary,steps,topics,duration_minutes\n"
        'ex-old-format,exercise,Old format,A summary long enough here.,Step one here|Step two here,anxiety|sleep,3\n'
    )
    [r] = read_catalog_file(path)
    assert r.steps == ["Step one here", "Step two here"] and r.topics == ["anxiety", "sleep"]


_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), min_size=3, max_size=40)


@hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(_TEXT, min_size=2, max_size=5), body=_TEXT)
def test_csv_round_trip_property(tmp_path: Path, steps: list[str], body: str) -> None:
    resource = Resource.model_validate({**EXERCISE, "steps": steps, "body": body})
    path = tmp_path / "p.csv"
    path.write_bytes(write_catalog([resource], "csv").encode("utf-8"))
    assert read_catalog_file(path) == [resource]


def test_cli_export_then_import_changes_nothing(cli_env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    from solace.cli import cli

    env, store, _client, _keys = cli_env
    _seed(store, [{**EXERCISE, "steps": NASTY_STEPS}])
    runner = CliRunner()
    path = tmp_path / "out.csv"
    assert runner.invoke(cli, ["catalog", "export", str(path)], env=env).exit_code == 0
    assert read_catalog_file(path)[2].steps == NASTY_STEPS
    r = runner.invoke(cli, ["catalog", "import", str(path)], env=env)
    assert r.exit_code == 0 and "0 created, 0 updated, 3 unchanged" in r.output, r.output
