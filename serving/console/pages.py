"""The console's catalog pages: sign in, search, a resource as users see it, the edit and
create forms, the review queue and review page, history, and the crisis directory.

Every change calls ``content_catalog.store.CatalogStore`` with the signed-in person as the
actor, exactly as the editor API does with a key's person, so ownership, review, four
eyes and the crisis-line rules hold here because they hold there.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from pydantic import ValidationError
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from content_catalog.access import CatalogError, Forbidden, NotFound, StaleVersion
from content_catalog.publish import publish_catalog
from content_catalog.store import StoredResource
from serving.console import bp, forms
from serving.console.session import (
    actor,
    current_staff,
    needs_reviewer,
    safe_next,
    sign_in_session,
    staff_store,
)
from serving.state import state
from storage.staff import LOCK_MINUTES, MAX_FAILED_ATTEMPTS

STALE_CRISIS_DAYS = 90
STATUS_LABELS = {"draft": "Draft", "in_review": "Waiting for review", "approved": "Approved", "retired": "Retired"}


@bp.app_template_filter("status_label")
def _status_label(status: str) -> str:
    return STATUS_LABELS.get(status, status)


@bp.app_template_filter("when")
def _when(value: datetime | str | None) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


@bp.app_template_filter("waited")
def _waited(since: datetime) -> str:
    seconds = max(0, int((datetime.now(UTC) - since).total_seconds()))
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            n = seconds // size
            return f"{n} {unit}{'s' if n != 1 else ''}"
    return "less than a minute"


@bp.app_template_filter("show")
def _show(value: Any) -> str:
    return forms.show(value)


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> tuple[str, int]:
    """Console errors are pages for people, not the API's JSON."""
    status = exc.code or 500
    titles = {400: "That did not work", 403: "Not allowed", 404: "Not found"}
    message = exc.description or ""
    if exc.__class__.__name__ == "CSRFError":
        message = "The form was too old or came from another site. Go back, reload the page and try again."
    return render_template("console/error.html", title=titles.get(status, "Something went wrong"),
                           message=message, status=status), status


def _publish() -> None:
    """Serving sees a change at once (the API's catalog views do the same after a change)."""
    from core.encoder import get_encoder

    st = state()
    publish_catalog(st.catalog, st.redis, st.keys, get_encoder(st.settings.embedding_model))


def _stored(resource_id: str) -> StoredResource:
    found = state().catalog.get(resource_id, viewer=actor())
    if found is None:
        abort(404, f"There is no resource {resource_id!r} that you can see.")
    return found


# --------------------------------------------------------------------------- sign in
@bp.route("/signin", methods=["GET", "POST"])
def signin() -> Any:
    error = None
    name = ""
    if request.method == "POST":
        name = (request.form.get("name") or "").strip().lower()
        password = request.form.get("password") or ""
        result = staff_store().sign_in(name, password, via="console")
        if result.ok and result.account is not None:
            sign_in_session(result.account)
            return redirect(safe_next(request.args.get("next")))
        # one answer for every failure: it does not tell which names exist
        error = (f"The name or the password is wrong, or the account is locked or disabled. After "
                 f"{MAX_FAILED_ATTEMPTS} wrong passwords an account is locked for {LOCK_MINUTES} minutes.")
    return render_template("console/signin.html", title="Sign in", error=error, name=name)


@bp.post("/signout")
def signout() -> Response:
    from flask import session

    session.clear()
    flash("You are signed out.")
    return redirect(url_for("console.signin"))


# --------------------------------------------------------------------------- catalog
@bp.get("/")
def catalog() -> str:
    args = {k: (request.args.get(k) or "").strip() for k in ("q", "type", "topic", "status", "locale")}
    found = state().catalog.search(actor(), args["q"] or None, args["type"] or None, args["topic"] or None,
                                   args["status"] or None, args["locale"] or None)
    return render_template("console/catalog.html", title="Catalog", items=found, args=args, choices=forms.CHOICES,
                           statuses=STATUS_LABELS)


@bp.get("/resources/<resource_id>")
def resource(resource_id: str) -> str:
    stored = _stored(resource_id)
    catalog = state().catalog
    return render_template(
        "console/resource.html", title=stored.resource.title, stored=stored, r=stored.resource,
        served=stored.approved if stored.resource.status != "retired" else None,
        author=catalog.last_author(resource_id), can_change=_may_change(stored),
    )


def _may_change(stored: StoredResource) -> bool:
    """Whether to offer the change buttons (the store decides in the end): global staff
    change the global catalog, a tenant's staff only their tenant's own resources."""
    me = current_staff()
    return stored.owner_tenant == me.tenant


def _form_page(values: dict[str, Any], errors: dict[str, str], stored: StoredResource | None,
               version: int | None, stale: list[dict[str, Any]] | None = None, status: int = 200) -> tuple[str, int]:
    title = f"Edit: {stored.resource.title}" if stored else "New resource"
    return render_template("console/edit.html", title=title, values=values, errors=errors, stored=stored,
                           version=version, choices=forms.CHOICES, stale=stale or []), status


@bp.route("/resources/new", methods=["GET", "POST"])
def new_resource() -> Any:
    if request.method == "GET":
        return _form_page(forms.form_values(None), {}, None, None)
    values = forms.submitted_values(request.form)
    try:
        record = forms.record_from_form(request.form)
        record["id"] = (request.form.get("id") or "").strip() or None
        resource = forms.validate(record)
    except forms.FormProblems as exc:
        return _form_page(values, exc.errors, None, None, status=422)
    except ValidationError as exc:
        return _form_page(values, forms.field_errors(exc), None, None, status=422)
    try:
        state().catalog.create(resource, actor())
    except CatalogError as exc:
        return _form_page(values, {"id": str(exc)}, None, None, status=409)
    flash(f"Saved as a draft: {resource.title}. Submit it for review when it is ready.")
    return redirect(url_for("console.resource", resource_id=resource.id))


@bp.route("/resources/<resource_id>/edit", methods=["GET", "POST"])
def edit_resource(resource_id: str) -> Any:
    stored = _stored(resource_id)
    if request.method == "GET":
        return _form_page(forms.form_values(stored.resource), {}, stored, stored.version)
    values = forms.submitted_values(request.form)
    try:
        expected = int(request.form.get("version") or "")
    except ValueError:
        abort(400, "The form lost its version number; reload the page.")
    try:
        changes = forms.record_from_form(request.form)
        changes.pop("id", None)
        state().catalog.edit(resource_id, changes, actor(), expected_version=expected)
    except forms.FormProblems as exc:
        return _form_page(values, exc.errors, stored, expected, status=422)
    except ValidationError as exc:
        return _form_page(values, forms.field_errors(exc), stored, expected, status=422)
    except StaleVersion as exc:
        current = _stored(resource_id)
        return _form_page(values, {"form": "Someone changed this resource while you were editing it. Your "
                                           "changes are not saved yet: read what changed below, then save "
                                           "again to apply yours on top, or reload the page."},
                          current, current.version, stale=exc.since, status=409)
    except Forbidden as exc:
        return _form_page(values, {"form": str(exc)}, stored, expected, status=403)
    except CatalogError as exc:
        return _form_page(values, {"form": str(exc)}, stored, expected, status=409)
    _publish()
    flash("Saved.")
    return redirect(url_for("console.resource", resource_id=resource_id))


@bp.post("/resources/<resource_id>/action")
def resource_action(resource_id: str) -> Response:
    """submit, retire and unretire from the resource page or the queue; approve and
    reject come from the review page (with its comment)."""
    action = request.form.get("action", "")
    if action not in ("submit", "retire", "unretire", "approve", "reject"):
        abort(400, "Unknown action.")
    comment = request.form.get("comment")
    raw_version = request.form.get("version") or ""
    version = int(raw_version) if raw_version.isdigit() else None  # none given: act on the current one
    back = safe_next(request.form.get("next")) if request.form.get("next") else url_for(
        "console.resource", resource_id=resource_id)
    try:
        stored = state().catalog.review(resource_id, action, actor(), expected_version=version, comment=comment)
    except NotFound:
        abort(404, f"There is no resource {resource_id!r} that you can see.")
    except StaleVersion as exc:
        flash(f"Not done: {exc}", "error")
        return redirect(back)
    except CatalogError as exc:
        flash(f"Not done: {exc}", "error")
        return redirect(back)
    _publish()
    done = {"submit": "Sent for review.", "retire": "Retired: it is no longer served.",
            "unretire": "Back in review: it is served again once a reviewer approves it.",
            "approve": "Approved: it is served now.", "reject": "Sent back to the author with your comment."}
    flash(f"{stored.resource.title}: {done[action]}")
    return redirect(back)


# --------------------------------------------------------------------------- review
@bp.get("/review")
def review_queue() -> str:
    catalog = state().catalog
    queue = catalog.review_queue(actor())
    retired = catalog.search(actor(), status="retired")
    return render_template("console/queue.html", title="Review queue", queue=queue, retired=retired,
                           me=current_staff().name)


def diff_rows(approved: dict[str, Any] | None, proposed: dict[str, Any]) -> list[dict[str, Any]]:
    """Field by field: the approved and the proposed value, and whether they differ."""
    skip = {"status", "reviewed_by", "reviewed_at"}
    keys = [k for k in proposed if k not in skip]
    keys += [k for k in (approved or {}) if k not in skip and k not in proposed]
    return [{"field": k, "approved": (approved or {}).get(k), "proposed": proposed.get(k),
             "changed": approved is None or (approved or {}).get(k) != proposed.get(k)} for k in keys]


@bp.get("/review/<resource_id>")
def review_page(resource_id: str) -> str:
    stored = _stored(resource_id)
    approved = stored.approved.model_dump(mode="json", exclude_none=True) if stored.approved else None
    proposed = stored.resource.model_dump(mode="json", exclude_none=True)
    author = state().catalog.last_author(resource_id)
    return render_template("console/review.html", title=f"Review: {stored.resource.title}", stored=stored,
                           rows=diff_rows(approved, proposed), has_approved=approved is not None, author=author,
                           me=current_staff(), can_change=_may_change(stored))


@bp.get("/resources/<resource_id>/history")
def history(resource_id: str) -> str:
    stored = _stored(resource_id)
    entries = list(reversed(state().catalog.history(resource_id)))
    return render_template("console/history.html", title=f"History: {stored.resource.title}", stored=stored,
                           entries=entries)


# --------------------------------------------------------------------------- crisis lines
@bp.get("/crisis")
def crisis() -> str:
    today = datetime.now(UTC).date()
    lines: list[dict[str, Any]] = []
    for stored in state().catalog.iter_all(actor()):
        r = stored.resource
        if not r.is_crisis_resource or r.contact is None:
            continue
        age = (today - r.contact.checked_on).days
        lines.append({"stored": stored, "r": r, "age": age, "stale": age >= STALE_CRISIS_DAYS,
                      "can_change": _may_change(stored)})
    lines.sort(key=lambda line: (line["r"].country or "", line["r"].title))
    countries: dict[str, list[dict[str, Any]]] = {}
    for line in lines:
        countries.setdefault(line["r"].country or "?", []).append(line)
    return render_template("console/crisis.html", title="Crisis lines", countries=countries,
                           stale_days=STALE_CRISIS_DAYS, stale_count=sum(1 for x in lines if x["stale"]),
                           me=current_staff())


@bp.post("/crisis/<resource_id>/checked")
@needs_reviewer
def crisis_checked(resource_id: str) -> Response:
    try:
        version = int(request.form.get("version") or "")
    except ValueError:
        abort(400, "The form lost its version number; reload the page.")
    try:
        state().catalog.mark_checked(resource_id, actor(), datetime.now(UTC).date(), expected_version=version)
    except NotFound:
        abort(404, f"There is no resource {resource_id!r} that you can see.")
    except CatalogError as exc:
        flash(f"Not done: {exc}", "error")
        return redirect(url_for("console.crisis"))
    _publish()
    flash(f"Marked as checked today: {resource_id}.")
    return redirect(url_for("console.crisis") + f"#line-{resource_id}")


# --------------------------------------------------------------------------- staff
@bp.get("/staff")
def staff_page() -> str:
    """Admins see their staff and the latest sign-in attempts (global admins everyone's, a
    tenant's admin their tenant's): who was locked out, who tried names that do not exist."""
    me = current_staff()
    if not me.admin:
        abort(403, "Only an admin sees the staff accounts.")
    accounts = staff_store().list(me.tenant)
    names = {a.name for a in accounts}
    signins = [e for e in staff_store().sign_ins(None, 200) if me.tenant is None or e["name"] in names][:50]
    return render_template("console/staff.html", title="Staff", accounts=accounts, signins=signins,
                           now=datetime.now(UTC), me=me)


@bp.post("/staff/<name>/disable")
def disable_staff(name: str) -> Response:
    from storage.staff import StaffError

    me = current_staff()
    target = staff_store().get(name)
    if not me.admin or target is None or (me.tenant is not None and target.tenant != me.tenant):
        abort(403, "Only an admin of the same staff disables an account.")
    if target.name == me.name:
        flash("Not done: you cannot disable your own account.", "error")
        return redirect(url_for("console.staff_page"))
    try:
        staff_store().disable(name)
    except StaffError as exc:
        flash(f"Not done: {exc}", "error")
        return redirect(url_for("console.staff_page"))
    flash(f"Disabled {name}: no more sign-ins or changes; the history keeps the name.")
    return redirect(url_for("console.staff_page"))
