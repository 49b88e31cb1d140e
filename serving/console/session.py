"""Who is signed in to the console, and what their account lets them do.

The session holds only the account's name and the time its password last changed: a new
password (``solace staff password``) or a disabled account ends every session at the next
request, because each request reads the account again.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import abort, g, redirect, request, session, url_for

from content_catalog.access import Actor
from serving.console import bp, csrf
from serving.state import state
from storage.staff import StaffAccount, StaffStore

F = TypeVar("F", bound=Callable[..., Any])
OPEN_ENDPOINTS = {"console.signin", "console.static"}


def staff_store() -> StaffStore:
    return StaffStore(state().engine)


def current_staff() -> StaffAccount:
    account: StaffAccount = g.console_staff
    return account


def actor() -> Actor:
    """The signed-in person as the catalog sees them (global accounts see every tenant)."""
    return Actor.for_staff(current_staff())


def sign_in_session(account: StaffAccount) -> None:
    session.clear()  # a new session on every sign-in: no fixation
    session.permanent = True
    session["staff"] = account.name
    session["since"] = account.password_changed_at.isoformat()


def safe_next(target: str | None) -> str:
    """Where to go after signing in: only a console path of this site."""
    if target and target.startswith("/console") and not urlsplit(target).netloc and "//" not in target:
        return target
    return url_for("console.catalog")


@bp.before_request
def _guard() -> Any:
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        csrf.protect()
    if request.endpoint in OPEN_ENDPOINTS:
        return None
    name = session.get("staff")
    account = staff_store().get(name) if isinstance(name, str) else None
    if account is None or not account.active or session.get("since") != account.password_changed_at.isoformat():
        session.clear()
        return redirect(url_for("console.signin", next=request.full_path.rstrip("?")))
    g.console_staff = account
    return None


def needs_reviewer(view: F) -> F:
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not current_staff().reviewer:
            abort(403, "This needs a reviewer's account.")
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]  # wraps keeps the view's signature


def needs_global_admin(view: F) -> F:
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        account = current_staff()
        if not (account.admin and account.tenant is None):
            abort(403, "Only a global admin changes which model is served.")
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]  # wraps keeps the view's signature
