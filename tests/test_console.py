"""Issue 18: the clinical console's pages, through Flask's test client (the browser suite in
tests/browser/ drives the same pages in Chromium). Sign-in, CSRF, the four-eyes rule and
the stale-form message come from the same services as the API and the CLI."""

from __future__ import annotations

import re

import pytest

from tests.conftest import add_staff

PASSWORD = "correct horse battery"
NEW = {"id": "art-console-test-worry", "type": "article", "title": "A worry list from the console",
       "summary": "Write worries down early so they wait until morning.",
       "body": "Set ten minutes aside after dinner.", "topics": "sleep", "duration_minutes": "3",
       "locales": "en", "format": "text", "reading_level": "standard", "audience": "all"}


def _token(page: bytes) -> str:
    found = re.search(rb'name="csrf_token" value="([^"]+)"', page)
    assert found, page[:500]
    return found.group(1).decode()


@pytest.fixture(scope="module")
def console(deployment):  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    from serving.app import create_app

    services, _ = deployment
    add_staff(services.engine, "console-author")
    add_staff(services.engine, "console-reviewer", "console-reviewer-2", reviewer=True)
    return create_app(services.settings), services


def _signed_in(app, name: str):  # type: ignore[no-untyped-def]  # a Flask app; returns its test client
    client = app.test_client()
    page = client.get("/console/signin")
    r = client.post("/console/signin", data={"name": name, "password": PASSWORD, "csrf_token": _token(page.data)})
    assert r.status_code == 302, r.data[:300]
    return client


def _post(client, url: str, data: dict, page_url: str):  # type: ignore[no-untyped-def]  # a Flask test client
    return client.post(url, data={**data, "csrf_token": _token(client.get(page_url).data)})


def test_sign_in_needs_an_account_and_every_form_a_csrf_token(console) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    app, services = console
    client = app.test_client()
    r = client.get("/console/review")
    assert r.status_code == 302 and "/console/signin?next=/console/review" in r.headers["Location"]
    page = client.get("/console/signin")
    assert page.status_code == 200 and b'<label for="password">' in page.data
    # a form without its token is refused before the password is even read
    assert client.post("/console/signin", data={"name": "console-author", "password": PASSWORD}).status_code == 400
    wrong = client.post("/console/signin", data={"name": "console-author", "password": "not the password",
                                                 "csrf_token": _token(page.data)})
    assert wrong.status_code == 200 and b"name or the password is wrong" in wrong.data
    r = client.post("/console/signin?next=/console/crisis",
                    data={"name": "console-author", "password": PASSWORD, "csrf_token": _token(page.data)})
    assert r.status_code == 302 and r.headers["Location"].endswith("/console/crisis")
    outcomes = [e["outcome"] for e in services.staff.sign_ins("console-author")[:2]]
    assert outcomes == ["ok", "wrong_password"]
    # an open redirect is not followed
    page = client.get("/console/signin")
    r = client.post("/console/signin?next=//evil.example.com/",
                    data={"name": "console-author", "password": PASSWORD, "csrf_token": _token(page.data)})
    assert r.headers["Location"].endswith("/console/")


def test_pages_render_for_a_signed_in_reviewer(console) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    app, services = console
    client = _signed_in(app, "console-reviewer")
    rid = services.catalog.servable()[0].id
    for url, text in [("/console/", b"Catalog"), ("/console/?type=exercise&topic=anxiety&status=approved&locale=en", b"exercise"),
                      (f"/console/resources/{rid}", b"What users see now"), (f"/console/resources/{rid}/edit", b"Save changes"),
                      (f"/console/resources/{rid}/history", b"Version 1"), ("/console/review", b"Review queue"),
                      ("/console/crisis", b"Checked today"), ("/console/models", b"active"),
                      ("/console/outcomes", b"Open flags: a reviewer decides"), ("/console/resources/new", b"Save as draft")]:
        r = client.get(url)
        assert r.status_code == 200 and text in r.data, url
    assert client.get("/console/resources/no-such-thing").status_code == 404
    filtered = client.get("/console/?type=group").data.decode()
    assert "article" not in re.findall(r"<td>(article|exercise|group)</td>", filtered)


def test_create_submit_and_four_eyes_on_the_pages(console) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    app, services = console
    author = _signed_in(app, "console-author")
    bad = _post(author, "/console/resources/new", {**NEW, "duration_minutes": "0", "title": "x"}, "/console/resources/new")
    assert bad.status_code == 422
    page = bad.data.decode()
    assert 'id="title-error"' in page and 'id="duration_minutes-error"' in page and 'aria-invalid="true"' in page
    r = _post(author, "/console/resources/new", NEW, "/console/resources/new")
    assert r.status_code == 302
    stored = services.catalog.get(NEW["id"])
    assert stored.resource.status == "draft" and services.catalog.last_author(NEW["id"]) == "console-author"
    url = f"/console/resources/{NEW['id']}"
    r = _post(author, f"{url}/action", {"action": "submit", "version": "1"}, url)
    assert r.status_code == 302 and services.catalog.get(NEW["id"]).resource.status == "in_review"
    # an author cannot approve at all; the page does not even offer it
    assert b"Only a reviewer approves" in author.get(f"/console/review/{NEW['id']}").data
    r = _post(author, f"{url}/action", {"action": "approve"}, url)
    assert services.catalog.get(NEW["id"]).resource.status == "in_review"

    reviewer = _signed_in(app, "console-reviewer")
    queue = reviewer.get("/console/review").data.decode()
    assert NEW["title"] in queue and "console-author" in queue
    # the reviewer edits the text: now a second reviewer must approve it
    form = reviewer.get(f"{url}/edit").data.decode()
    assert 'name="version" value="2"' in form
    r = _post(reviewer, f"{url}/edit", {**NEW, "body": "Set ten minutes aside after dinner, then stop.", "version": "2"},
              f"{url}/edit")
    assert r.status_code == 302
    review = reviewer.get(f"/console/review/{NEW['id']}").data.decode()
    assert "another reviewer must approve it" in review and 'value="approve"' not in review
    r = _post(reviewer, f"{url}/action", {"action": "approve"}, url)
    assert services.catalog.get(NEW["id"]).approved is None  # refused by the store, whatever the page showed
    # a stale form names who changed what meanwhile
    stale = _post(author, f"{url}/edit", {**NEW, "summary": "A summary written on an old form.", "version": "2"},
                  f"{url}/edit")
    assert stale.status_code == 409
    text = stale.data.decode()
    assert "Changed meanwhile" in text and "console-reviewer" in text and "body" in text

    second = _signed_in(app, "console-reviewer-2")
    r = _post(second, f"{url}/action", {"action": "reject", "comment": ""}, f"/console/review/{NEW['id']}")
    assert services.catalog.get(NEW["id"]).resource.status == "in_review"
    assert b"needs a comment" in second.get("/console/review").data
    r = _post(second, f"{url}/action", {"action": "approve", "comment": "Clear and safe."}, f"/console/review/{NEW['id']}")
    assert r.status_code == 302
    stored = services.catalog.get(NEW["id"])
    assert stored.resource.status == "approved" and stored.resource.reviewed_by == "console-reviewer-2"
    history = second.get(f"{url}/history").data.decode()
    assert "Clear and safe." in history and "then stop." in history
    r = _post(author, f"{url}/action", {"action": "retire"}, url)
    assert r.status_code == 302 and services.catalog.get(NEW["id"]).resource.status == "retired"


def test_crisis_directory_marks_old_checks_and_confirms_lines(console) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    from datetime import UTC, datetime

    app, services = console
    line = next(s for s in services.catalog.iter_all() if s.resource.is_crisis_resource and s.resource.status == "approved")
    page = _signed_in(app, "console-author").get("/console/crisis").data.decode()
    assert line.resource.contact.name in page and "Checked today" not in page  # authors only read it
    reviewer = _signed_in(app, "console-reviewer")
    page = reviewer.get("/console/crisis").data.decode()
    age = (datetime.now(UTC).date() - line.resource.contact.checked_on).days
    assert (f"check now: {age} days ago" in page) == (age >= 90)
    r = _post(reviewer, f"/console/crisis/{line.resource.id}/checked", {"version": str(line.version)}, "/console/crisis")
    assert r.status_code == 302
    after = services.catalog.get(line.resource.id)
    assert after.resource.contact.checked_on == datetime.now(UTC).date() and after.resource.status == "approved"
    assert after.approved.contact.checked_on == datetime.now(UTC).date()


def test_a_tenants_staff_read_the_global_catalog_but_change_only_their_own(console) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    app, services = console
    add_staff(services.engine, "acme-console-reviewer", reviewer=True, tenant="acme")
    client = _signed_in(app, "acme-console-reviewer")
    rid = next(s.resource.id for s in services.catalog.iter_all() if s.owner_tenant is None and s.resource.status == "approved")
    page = client.get(f"/console/resources/{rid}").data.decode()
    assert "only global staff change the global catalog" in page and ">Edit</a>" not in page
    assert "Checked today" not in client.get("/console/crisis").data.decode()
    # and the store refuses whatever a crafted form says
    r = _post(client, f"/console/resources/{rid}/action", {"action": "retire"}, f"/console/resources/{rid}")
    assert r.status_code == 302 and services.catalog.get(rid).resource.status == "approved"
    assert b"Not done: " in client.get(f"/console/resources/{rid}").data
    # what they create is private to their tenant
    new = {**NEW, "id": "art-acme-console-note", "title": "A note for acme's users"}
    assert _post(client, "/console/resources/new", new, "/console/resources/new").status_code == 302
    assert services.catalog.get(new["id"]).owner_tenant == "acme"


def test_experiments_are_read_with_their_arms_and_only_by_their_tenant(console) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    from storage.experiments import ArmSpec

    app, services = console
    version = services.registry.active()
    service = app.extensions["solace"].experiments()
    service.create("demo", "console-topic-cap", [ArmSpec("control", version, 0.5),
                                                  ArmSpec("stricter", version, 0.5, max_topic_share=0.3)],
                   "A stricter topic cap")
    client = _signed_in(app, "console-reviewer")
    listed = client.get("/console/experiments").data.decode()
    assert "console-topic-cap" in listed and "control (control), stricter" in listed
    page = client.get("/console/experiments/demo/console-topic-cap")
    assert page.status_code == 200
    text = page.data.decode()
    assert "stricter" in text and "topic cap 0.3" in text and version in text
    add_staff(services.engine, "acme-console-author", tenant="acme")
    other = _signed_in(app, "acme-console-author")
    assert other.get("/console/experiments/demo/console-topic-cap").status_code == 404
    assert "console-topic-cap" not in other.get("/console/experiments").data.decode()


def test_a_reviewer_decides_an_open_flag_with_a_comment(console) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    from content_catalog.flags import FlagStore

    app, services = console
    rid = next(s.resource.id for s in services.catalog.iter_all()
               if s.owner_tenant is None and s.resource.status == "approved" and not s.resource.is_crisis_resource
               and s.resource.id not in FlagStore(services.engine).open_ids())
    FlagStore(services.engine).open(rid, ["not helpful for 70% of 40 ratings"], {"ratings": 40})
    author = _signed_in(app, "console-author")
    page = author.get("/console/outcomes").data.decode()
    assert "not helpful for 70% of 40 ratings" in page and "Record the decision" not in page  # authors read only
    reviewer = _signed_in(app, "console-reviewer")
    _post(reviewer, f"/console/flags/{rid}/decision", {"decision": "kept", "comment": ""}, "/console/outcomes")
    assert rid in FlagStore(services.engine).open_ids()  # a decision needs a comment
    _post(reviewer, f"/console/flags/{rid}/decision", {"decision": "kept", "comment": "Ratings came from one day."},
          "/console/outcomes")
    assert rid not in FlagStore(services.engine).open_ids()
    assert services.catalog.get(rid).resource.status == "approved"
    assert services.catalog.history(rid)[-1]["comment"] == "Ratings came from one day."


def test_admins_see_their_staff_and_sign_ins_and_disable_accounts(console) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    from storage.staff import StaffRole

    app, services = console
    services.staff.create("console-admin", StaffRole.ADMIN, PASSWORD)
    add_staff(services.engine, "console-leaver")
    assert _signed_in(app, "console-author").get("/console/staff").status_code == 403
    admin = _signed_in(app, "console-admin")
    page = admin.get("/console/staff").data.decode()
    assert "console-leaver" in page and "console-author" in page and "wrong password" in page
    _post(admin, "/console/staff/console-admin/disable", {}, "/console/staff")
    assert services.staff.get("console-admin").active  # not oneself
    _post(admin, "/console/staff/console-leaver/disable", {}, "/console/staff")
    assert not services.staff.get("console-leaver").active
    assert services.staff.sign_in("console-leaver", PASSWORD).outcome == "disabled"


def test_the_session_cookie_is_secure_when_the_console_is_served_over_https(deployment) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    from serving.app import create_app

    services, _ = deployment
    for secure in (False, True):
        app = create_app(services.settings.model_copy(update={"console_secure_cookie": secure}))
        client = app.test_client()
        page = client.get("/console/signin", base_url="https://localhost")  # the session holds its CSRF token
        cookie = next(h for h in page.headers.getlist("Set-Cookie") if h.startswith("solace_console="))
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
        assert ("Secure" in cookie) is secure, cookie
