"""The editors' workflow: review states, clinical edits, concurrency, audit; CLI and API."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from pydantic import ValidationError

from content_catalog.access import Actor
from content_catalog.schema import Resource
from content_catalog.store import CatalogStore, StaleVersion, WorkflowError
from storage.api_keys import Role
from tests.conftest import staff_key

ED1, ED2 = Actor.operator("ed-1"), Actor.operator("ed-2")
REV1 = Actor.operator("rev-1", reviewer=True)

DRAFT = {"id": "art-evening-worry-list", "type": "article", "title": "An evening worry list",
         "summary": "Write worries down early so they wait until morning.",
         "body": "Set ten minutes aside after dinner.", "topics": ["sleep", "anxiety"],
         "tags": ["night"], "duration_minutes": 3}


def test_review_states_and_clinical_edits(sql_engine) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    store = CatalogStore(sql_engine)
    created = store.create(Resource.model_validate({**DRAFT, "status": "approved", "reviewed_by": "me"}), ED1)
    assert created.resource.status == "draft"  # a new resource is always a draft
    with pytest.raises(WorkflowError):
        store.review(DRAFT["id"], "approve", REV1)  # not in review yet
    store.review(DRAFT["id"], "submit", ED1)
    with pytest.raises(PermissionError):
        store.review(DRAFT["id"], "approve", ED1)
    approved = store.review(DRAFT["id"], "approve", REV1)
    assert approved.resource.status == "approved" and approved.resource.reviewed_by == "rev-1"
    assert [r.id for r in store.servable()] == [DRAFT["id"]]

    # an edit of an internal field (tags) stays approved and goes live
    store.edit(DRAFT["id"], {"tags": ["night", "evening"]}, ED1)
    assert store.servable()[0].tags == ["night", "evening"]
    # a title is read by users: it goes back to review; the approved text keeps serving
    v = store.get(DRAFT["id"]).version
    edited = store.edit(DRAFT["id"], {"title": "Your evening worry list"}, ED1, expected_version=v)
    assert edited.resource.status == "in_review" and edited.resource.reviewed_by is None
    assert store.servable()[0].title == "An evening worry list"
    with pytest.raises(StaleVersion):
        store.edit(DRAFT["id"], {"body": "Late"}, ED2, expected_version=v)
    edited = store.edit(DRAFT["id"], {"body": "A changed body."}, ED1)
    assert edited.resource.status == "in_review"
    assert store.servable()[0].body == "Set ten minutes aside after dinner."
    with pytest.raises(ValidationError):
        store.edit(DRAFT["id"], {"topics": ["astrology"]}, ED1)
    store.review(DRAFT["id"], "approve", REV1)
    assert store.servable()[0].body == "A changed body."
    assert store.servable()[0].title == "Your evening worry list"
    store.review(DRAFT["id"], "retire", ED1)
    assert store.servable() == []
    actions = [h["action"] for h in store.history(DRAFT["id"])]
    assert actions == ["create", "submit", "approve", "edit", "edit", "edit", "approve", "retire"]


def test_cli_import_dry_run_add_review_retire_history(tmp_path, redis_url, redis_prefix) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    import json

    from solace.cli import cli

    env = {"SOLACE_HOME": str(tmp_path / "h"), "SOLACE_REDIS_URL": redis_url, "SOLACE_REDIS_PREFIX": redis_prefix}
    runner = CliRunner()
    path = tmp_path / "one.json"
    path.write_text(json.dumps([DRAFT]))
    r = runner.invoke(cli, ["catalog", "import", str(path), "--dry-run"], env=env)
    assert r.exit_code == 0 and "dry run" in r.output
    r = runner.invoke(cli, ["catalog", "list"], env=env)
    assert DRAFT["id"] not in r.output
    assert runner.invoke(cli, ["catalog", "add", str(path)], env=env).exit_code == 0
    for name, role in (("ed", "author"), ("rev", "reviewer")):
        r = runner.invoke(cli, ["staff", "add", name, "--role", role, "--password-stdin"],
                          input="correct horse battery\n", env=env)
        assert r.exit_code == 0, r.output
    r = runner.invoke(cli, ["catalog", "review", DRAFT["id"], "--action", "approve", "--actor", "rev", "--reviewer"], env=env)
    assert r.exit_code != 0 and "in review" in r.output
    for args in (["--action", "submit", "--actor", "ed"], ["--action", "approve", "--actor", "rev", "--reviewer"]):
        assert runner.invoke(cli, ["catalog", "review", DRAFT["id"], *args], env=env).exit_code == 0
    r = runner.invoke(cli, ["catalog", "edit", DRAFT["id"], "--set", 'topics=["sleep"]'], env=env)
    assert r.exit_code == 0 and "in_review" in r.output
    r = runner.invoke(cli, ["catalog", "edit", DRAFT["id"], "--set", "duration_minutes=0"], env=env)
    assert r.exit_code != 0 and "duration_minutes" in r.output
    assert runner.invoke(cli, ["catalog", "retire", DRAFT["id"]], env=env).exit_code == 0
    r = runner.invoke(cli, ["catalog", "history", DRAFT["id"]], env=env)
    entries = [line for line in r.output.strip().splitlines() if not line.startswith(" ")]
    assert [line.split()[2] for line in entries] == ["create", "submit", "approve", "edit", "retire"]
    assert '    topics: ["sleep", "anxiety"] -> ["sleep"]' in r.output  # each change with its old and new value


def test_editor_api_pagination_etag_conflict_and_reviewer_right(app_client, deployment) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    services, _ = deployment
    # tenant demo's own editors: what they create is private to demo
    editor = staff_key(services, "demo", "demo-workflow-author")
    reviewer = staff_key(services, "demo", "demo-workflow-reviewer", reviewer=True)
    ed = {"Authorization": f"Bearer {editor}"}
    rv = {"Authorization": f"Bearer {reviewer}"}
    page = app_client.get("/v1/resources?limit=7&offset=0&type=exercise", headers=ed).json
    assert len(page["items"]) == 7 and page["total"] >= 72
    assert app_client.get("/v1/resources?limit=0", headers=ed).json["error"]["field"] == "limit"
    platform = app_client.get("/v1/resources")
    assert platform.status_code == 403

    new = {**DRAFT, "id": "art-api-sleep-anchor", "topics": ["sleep"]}
    r = app_client.post("/v1/resources", json=new, headers=ed)
    assert r.status_code == 201 and r.headers["ETag"] == '"1"' and r.json["owner_tenant"] == "demo"
    assert app_client.post("/v1/resources", json=new, headers=ed).status_code == 409
    bad = app_client.post("/v1/resources", json={**new, "id": "art-bad", "duration_minutes": -1}, headers=ed)
    assert bad.status_code == 422 and bad.json["error"]["field"] == "duration_minutes"

    r = app_client.patch(f"/v1/resources/{new['id']}", json={"title": "A sleep anchor"}, headers={**ed, "If-Match": '"1"'})
    assert r.status_code == 200 and r.headers["ETag"] == '"2"'
    stale = app_client.patch(f"/v1/resources/{new['id']}", json={"title": "Again"}, headers={**ed, "If-Match": '"1"'})
    assert stale.status_code == 409 and stale.json["error"]["code"] == "stale_version"

    assert app_client.post(f"/v1/resources/{new['id']}/review", json={"action": "submit"}, headers=ed).status_code == 200
    denied = app_client.post(f"/v1/resources/{new['id']}/review", json={"action": "approve"}, headers=ed)
    assert denied.status_code == 403
    ok = app_client.post(f"/v1/resources/{new['id']}/review", json={"action": "approve"}, headers=rv)
    assert ok.status_code == 200 and ok.json["resource"]["status"] == "approved"


def test_approved_resource_is_served_without_retraining_and_retired_stops_at_once(app_client, deployment) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    services, result = deployment
    author = staff_key(services, "demo", "global-served-author", global_staff=True)
    reviewer = staff_key(services, "demo", "global-served-reviewer", reviewer=True, global_staff=True)
    ed = {"Authorization": f"Bearer {author}"}
    rv = {"Authorization": f"Bearer {reviewer}"}
    new = {**DRAFT, "id": "ex-new-grounding-walk", "type": "exercise", "body": None,
           "steps": ["Walk slowly and name five things you see.", "Notice four sounds around you."],
           "title": "A grounding walk for anxious evenings", "topics": ["anxiety"], "tags": ["grounding"]}
    new.pop("body")
    assert app_client.post("/v1/resources", json=new, headers=ed).status_code == 201
    for action, who in (("submit", ed), ("approve", rv)):
        assert app_client.post(f"/v1/resources/{new['id']}/review", json={"action": action}, headers=who).status_code == 200
    listed = app_client.post("/v1/recommendations", json={"features": ["topic:anxiety"], "k": 100, "types": ["exercise"]}).json
    ids = [i["resource_id"] for i in listed["items"]]
    assert new["id"] in ids
    assert listed["items"][ids.index(new["id"])]["score"] is not None
    similar = app_client.get(f"/v1/resources/{new['id']}/similar?k=3").json["items"]
    assert similar and all(i["resource_id"] != new["id"] for i in similar)

    user = result.example_user
    before = app_client.get(f"/v1/users/{user}/recommendations?k=5").json["items"]
    victim = before[0]["resource_id"]
    assert app_client.post(f"/v1/resources/{victim}/review", json={"action": "retire"}, headers=rv).status_code == 200
    after = app_client.get(f"/v1/users/{user}/recommendations?k=5").json["items"]
    assert victim not in {i["resource_id"] for i in after}
