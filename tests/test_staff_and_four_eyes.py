"""Issue 18: people, not keys. Staff accounts (argon2, lock-out, sign-in log), the CLI's
checked --actor, editor keys bound to accounts, and the four-eyes rule written once in the
catalog store, so the API, the CLI and the console all obey it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select, update

from content_catalog.access import Actor, Forbidden, WorkflowError, last_content_author
from content_catalog.schema import Resource
from content_catalog.store import CatalogStore, StaleVersion
from storage.staff import MAX_FAILED_ATTEMPTS, StaffError, StaffRole, StaffStore
from storage.tables import staff_accounts_table, staff_signins_table

PASSWORD = "correct horse battery"
DRAFT = {"id": "art-four-eyes", "type": "article", "title": "Four eyes on a worry list",
         "summary": "Write worries down early so they wait until morning.",
         "body": "Set ten minutes aside after dinner.", "topics": ["sleep"], "duration_minutes": 3}


def test_passwords_are_argon2_hashes_and_wrong_ones_lock_the_account(sql_engine) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    staff = StaffStore(sql_engine)
    account = staff.create("ana", StaffRole.AUTHOR, PASSWORD)
    assert account.tenant is None and not account.reviewer
    with sql_engine.connect() as conn:
        stored = conn.execute(select(staff_accounts_table.c.password_hash)).scalar_one()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    with pytest.raises(StaffError):
        staff.create("ana", StaffRole.AUTHOR, PASSWORD)
    with pytest.raises(StaffError, match="12 characters"):
        staff.create("bo", StaffRole.AUTHOR, "short")
    with pytest.raises(StaffError):
        staff.create("Not A Name", StaffRole.AUTHOR, PASSWORD)

    assert staff.sign_in("ana", PASSWORD).ok
    assert staff.sign_in("nobody", PASSWORD).outcome == "unknown_account"
    for _ in range(MAX_FAILED_ATTEMPTS):
        assert staff.sign_in("ana", "wrong password!!").outcome == "wrong_password"
    # locked: even the right password is refused until the lock ends
    assert staff.sign_in("ana", PASSWORD).outcome == "locked"
    with sql_engine.begin() as conn:  # the lock ran out
        conn.execute(update(staff_accounts_table).values(locked_until=datetime.now(UTC) - timedelta(seconds=1)))
    assert staff.sign_in("ana", PASSWORD).ok
    # a new password lifts a lock too; a disabled account never signs in
    staff.set_password("ana", "another long password")
    assert not staff.sign_in("ana", PASSWORD).ok and staff.sign_in("ana", "another long password").ok
    staff.disable("ana")
    assert staff.sign_in("ana", "another long password").outcome == "disabled"

    log = staff.sign_ins("ana")
    assert log[0]["outcome"] == "disabled" and not log[0]["success"]
    assert {e["outcome"] for e in log} == {"ok", "wrong_password", "locked", "disabled"}
    with sql_engine.connect() as conn:
        columns = set(conn.execute(select(staff_signins_table)).keys())
    assert not any("pass" in c for c in columns)  # the log never holds what was typed


def test_nobody_approves_what_they_last_changed_and_rejections_say_why(sql_engine) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    store = CatalogStore(sql_engine)
    author = Actor.operator("ana", reviewer=True)  # a reviewer too: the right is not enough
    second = Actor.operator("ben", reviewer=True)
    store.create(Resource.model_validate(DRAFT), author)
    store.review(DRAFT["id"], "submit", author)
    with pytest.raises(Forbidden, match="four eyes"):
        store.review(DRAFT["id"], "approve", author)
    with pytest.raises(WorkflowError, match="comment"):
        store.review(DRAFT["id"], "reject", second, comment="   ")
    with pytest.raises(Forbidden):  # rejecting is a reviewer's decision
        store.review(DRAFT["id"], "reject", Actor.operator("cli"), comment="no")
    store.review(DRAFT["id"], "reject", second, comment="Say when to stop writing.")
    # the reviewer fixes it: now the reviewer is the author and the first person approves
    store.edit(DRAFT["id"], {"body": "Set ten minutes aside after dinner, then stop."}, second)
    store.review(DRAFT["id"], "submit", second)
    with pytest.raises(Forbidden, match="four eyes"):
        store.review(DRAFT["id"], "approve", second)
    approved = store.review(DRAFT["id"], "approve", author, comment="Clear now.")
    assert approved.resource.reviewed_by == "ana"
    # tags are not clinical content: changing them makes no one an author
    store.edit(DRAFT["id"], {"tags": ["night"]}, author)
    assert store.last_author(DRAFT["id"]) == "ben"

    history = store.history(DRAFT["id"])
    assert [(h["action"], h["actor"], h["comment"]) for h in history] == [
        ("create", "ana", None), ("submit", "ana", None),
        ("reject", "ben", "Say when to stop writing."), ("edit", "ben", None), ("submit", "ben", None),
        ("approve", "ana", "Clear now."), ("edit", "ana", None)]
    assert history[3]["changes"]["body"] == {"old": DRAFT["body"], "new": "Set ten minutes aside after dinner, then stop."}
    assert [h["version"] for h in history] == list(range(1, 8)) and store.get(DRAFT["id"]).version == 7
    assert last_content_author(history) == "ben"


def test_a_stale_edit_says_who_changed_what(sql_engine) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    store = CatalogStore(sql_engine)
    store.create(Resource.model_validate(DRAFT), Actor.operator("ana"))
    store.edit(DRAFT["id"], {"title": "Another title for it"}, Actor.operator("ben"), expected_version=1)
    with pytest.raises(StaleVersion) as caught:
        store.edit(DRAFT["id"], {"summary": "A summary written meanwhile."}, Actor.operator("ana"), expected_version=1)
    assert "ben (edit: title)" in str(caught.value)
    assert [e["actor"] for e in caught.value.since] == ["ben"]
    assert caught.value.since[0]["changes"]["title"]["new"] == "Another title for it"


def test_confirming_a_crisis_line_needs_a_reviewer_and_changes_only_its_date(sql_engine) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    from content_catalog.seed import load_seed_catalog

    store = CatalogStore(sql_engine)
    line = next(r for r in load_seed_catalog() if r.is_crisis_resource)
    store.import_resources([line], Actor.operator("seed", reviewer=True), approve=True, trusted=True)
    with pytest.raises(Forbidden):
        store.mark_checked(line.id, Actor.operator("ana"), date(2026, 12, 1))
    store.create(Resource.model_validate(DRAFT), Actor.operator("ana"))
    with pytest.raises(WorkflowError):  # only a crisis line has a contact to confirm
        store.mark_checked(DRAFT["id"], Actor.operator("rev", reviewer=True), date(2026, 12, 1))
    done = store.mark_checked(line.id, Actor.operator("rev", reviewer=True), date(2026, 12, 1))
    assert done.resource.status == "approved" and done.resource.contact.checked_on == date(2026, 12, 1)
    assert done.approved is not None and done.approved.contact.checked_on == date(2026, 12, 1)
    assert store.history(line.id)[-1]["action"] == "checked"


def test_cli_actor_is_a_checked_account_and_staff_commands(tmp_path, redis_url, redis_prefix) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    import json

    from solace.cli import cli

    env = {"SOLACE_HOME": str(tmp_path / "h"), "SOLACE_REDIS_URL": redis_url, "SOLACE_REDIS_PREFIX": redis_prefix}
    runner = CliRunner()
    for name, role in (("ana", "author"), ("ben", "reviewer")):
        r = runner.invoke(cli, ["staff", "add", name, "--role", role, "--password-stdin"], input=f"{PASSWORD}\n", env=env)
        assert r.exit_code == 0 and f"added {name}" in r.output
    r = runner.invoke(cli, ["staff", "add", "cy", "--role", "author", "--password-stdin"], input="short\n", env=env)
    assert r.exit_code != 0 and "12 characters" in r.output
    listed = runner.invoke(cli, ["staff", "list"], env=env).output
    assert "ana" in listed and "reviewer" in listed

    path = tmp_path / "one.json"
    path.write_text(json.dumps([DRAFT]))
    assert runner.invoke(cli, ["catalog", "add", str(path), "--actor", "ana"], env=env).exit_code == 0
    r = runner.invoke(cli, ["catalog", "review", DRAFT["id"], "--action", "submit", "--actor", "mallory"], env=env)
    assert r.exit_code != 0 and "no staff account 'mallory'" in r.output
    assert runner.invoke(cli, ["catalog", "review", DRAFT["id"], "--action", "submit", "--actor", "ana"], env=env).exit_code == 0
    # asserting a right the account does not hold is refused
    r = runner.invoke(cli, ["catalog", "review", DRAFT["id"], "--action", "approve", "--actor", "ana", "--reviewer"], env=env)
    assert r.exit_code != 0 and "without the reviewer right" in r.output
    r = runner.invoke(cli, ["catalog", "review", DRAFT["id"], "--action", "reject", "--actor", "ben"], env=env)
    assert r.exit_code != 0 and "needs a comment" in r.output
    r = runner.invoke(cli, ["catalog", "review", DRAFT["id"], "--action", "reject", "--actor", "ben",
                            "--comment", "Name the stopping time."], env=env)
    assert r.exit_code == 0 and "draft" in r.output
    r = runner.invoke(cli, ["catalog", "edit", DRAFT["id"], "--set", "title=A worry list with an end", "--actor", "ana"], env=env)
    assert r.exit_code == 0
    history = runner.invoke(cli, ["catalog", "history", DRAFT["id"]], env=env).output
    assert "comment: Name the stopping time." in history
    assert 'title: "Four eyes on a worry list" -> "A worry list with an end"' in history

    assert runner.invoke(cli, ["staff", "disable", "ben"], env=env).exit_code == 0
    r = runner.invoke(cli, ["catalog", "review", DRAFT["id"], "--action", "submit", "--actor", "ben"], env=env)
    assert r.exit_code != 0 and "disabled" in r.output
    r = runner.invoke(cli, ["staff", "password", "ana", "--password-stdin"], input="a brand new password\n", env=env)
    assert r.exit_code == 0
    r = runner.invoke(cli, ["keys", "create", "--tenant", "demo", "--role", "editor", "--staff", "nobody"], env=env)
    assert r.exit_code != 0 and "no staff account" in r.output
    r = runner.invoke(cli, ["keys", "create", "--tenant", "demo", "--role", "editor", "--staff", "ana"], env=env)
    assert r.exit_code == 0 and "staff:ana" in runner.invoke(cli, ["keys", "list"], env=env).output

    from solace.services import Services
    from tests.conftest import make_settings

    Services(make_settings(tmp_path / "h", redis_url, redis_prefix)).staff.sign_in("ana", "not her password")
    r = runner.invoke(cli, ["staff", "signins", "ana"], env=env)
    assert r.exit_code == 0 and "wrong_password" in r.output and "not her password" not in r.output


def test_editor_api_acts_as_the_bound_person(app_client, deployment) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    from storage.api_keys import Role
    from tests.conftest import staff_key

    services, _ = deployment
    unbound = services.api_keys.create("demo", Role.EDITOR, reviewer=True)[1]
    new = {**DRAFT, "id": "art-api-four-eyes"}
    r = app_client.post("/v1/resources", json=new, headers={"Authorization": f"Bearer {unbound}"})
    assert r.status_code == 403 and "staff account" in r.json["error"]["message"]
    assert app_client.get("/v1/resources?limit=1", headers={"Authorization": f"Bearer {unbound}"}).status_code == 200

    # a reviewer key that writes, submits and approves its own article within a second: refused
    quick = {"Authorization": f"Bearer {staff_key(services, 'demo', 'api-quick-reviewer', reviewer=True)}"}
    other = {"Authorization": f"Bearer {staff_key(services, 'demo', 'api-other-reviewer', reviewer=True)}"}
    assert app_client.post("/v1/resources", json=new, headers=quick).status_code == 201
    assert app_client.post(f"/v1/resources/{new['id']}/review", json={"action": "submit"}, headers=quick).status_code == 200
    denied = app_client.post(f"/v1/resources/{new['id']}/review", json={"action": "approve"}, headers=quick)
    assert denied.status_code == 403 and "four eyes" in denied.json["error"]["message"]
    no_comment = app_client.post(f"/v1/resources/{new['id']}/review", json={"action": "reject"}, headers=other)
    assert no_comment.status_code == 409 and "comment" in no_comment.json["error"]["message"]
    ok = app_client.post(f"/v1/resources/{new['id']}/review", json={"action": "approve", "comment": "Fine."}, headers=other)
    assert ok.status_code == 200 and ok.json["resource"]["reviewed_by"] == "api-other-reviewer"
    last = services.catalog.history(new["id"])[-1]
    assert (last["actor"], last["action"], last["comment"]) == ("api-other-reviewer", "approve", "Fine.")
    services.staff.disable("api-quick-reviewer")
    gone = app_client.patch(f"/v1/resources/{new['id']}", json={"tags": ["x-y"]}, headers=quick)
    assert gone.status_code == 403
