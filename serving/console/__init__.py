"""The clinical console: server-rendered pages for the people who keep the content safe
and useful (authors, clinical reviewers, admins), under ``/console``.

It is HTTP, so it lives at the serving layer beside the API, and it calls the same
service functions the API and the command line call (the catalog store with its
ownership, review and four-eyes rules; the analytics report; model activation). No rule
is written here: a page only shows what the services answer and the errors they raise.

Staff sign in with a named account (``storage.staff``); the session cookie is signed,
HTTP-only and SameSite=Lax, and every form carries a CSRF token (Flask-WTF).
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

from flask import Blueprint, Flask, Request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask_wtf.csrf import CSRFProtect

from core.config import Settings

CONSOLE_PREFIX = "/console"
bp = Blueprint("console", __name__, url_prefix=CONSOLE_PREFIX, template_folder="templates",
               static_folder="static", static_url_path="/static")
csrf = CSRFProtect()

SESSION_HOURS = 8


def _secret(settings: Settings) -> str:
    """The key that signs console sessions: one per deployment home, made on first use,
    so every worker (and a restart) accepts the same sessions."""
    settings.ensure_home()
    path = Path(settings.home) / "console-secret"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


class ConsoleSessions(SecureCookieSessionInterface):
    """Only the console's pages have sessions (staff sign-in, CSRF); API requests carry
    bearer keys. Opening the signed cookie for every API request cost a serializer per
    request on the recommendation path (issue 19): outside the console the session is
    Flask's null session, which refuses writes, so nothing can start using it unnoticed."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if not request.path.startswith(CONSOLE_PREFIX):
            return None
        return super().open_session(app, request)


def init_console(app: Flask, settings: Settings) -> None:
    app.session_interface = ConsoleSessions()
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _secret(settings)
    app.config.update(
        SESSION_COOKIE_NAME="solace_console", SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.console_secure_cookie,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=SESSION_HOURS),
        # the API's JSON endpoints take bearer keys, not cookies: only the console's forms are checked
        WTF_CSRF_CHECK_DEFAULT=False, WTF_CSRF_TIME_LIMIT=SESSION_HOURS * 3600,
    )
    csrf.init_app(app)
    from serving.console import pages, ops  # noqa: F401 - they add their views to bp

    app.register_blueprint(bp)
