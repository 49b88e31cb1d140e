"""The app for WSGI servers that import it by name (granian, under ``solace serve --server
granian``): built in each worker process from the environment's settings, behind the same
request-size limits gunicorn applies before the app, answered in the API's error shape.

gunicorn refuses an over-long request line (414) or too many or too large headers (431)
itself, and ``solace serve`` makes those answers JSON. granian has no such limits of its own
(it read a 100 KB header without complaint): :class:`RequestLimits` enforces gunicorn's
numbers here, before Flask parses anything. What neither can answer in JSON is a request
too malformed to parse at all; granian answers that with a bare 400.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

# gunicorn's settings under `solace serve` (solace.serve), and the limits below
HEADER_LIMITS = {"limit_request_field_size": 8190, "limit_request_fields": 100, "limit_request_line": 4094}


def limit_message(status: int) -> str:
    """What a 414 or 431 says, whichever server answers it."""
    if status == 431:
        return (f"the request's headers are too large: at most {HEADER_LIMITS['limit_request_fields']} "
                f"headers of at most {HEADER_LIMITS['limit_request_field_size']} bytes each")
    return f"the request line is longer than {HEADER_LIMITS['limit_request_line']} bytes"


class RequestLimits:
    """WSGI middleware: gunicorn's request-line and header limits, as JSON errors."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        # "METHOD target PROTOCOL"; without the raw target, the decoded path and the query
        # (percent-escapes then count as one byte each)
        query = environ.get("QUERY_STRING", "")
        target = environ.get("RAW_URI") or environ.get("PATH_INFO", "") + ("?" + query if query else "")
        line = len(environ.get("REQUEST_METHOD", "")) + len(target) + len(environ.get("SERVER_PROTOCOL", "")) + 2
        if line > HEADER_LIMITS["limit_request_line"]:
            return self._refuse(start_response, 414, "414 URI Too Long", "uri_too_long")
        count = 0
        for name, value in environ.items():
            if name.startswith("HTTP_"):
                count += 1
                # a header line is "Name: value"; the WSGI name lost its dashes' case only
                if len(name) - 5 + 2 + len(value) > HEADER_LIMITS["limit_request_field_size"]:
                    return self._refuse(start_response, 431, "431 Request Header Fields Too Large", "headers_too_large")
        if count > HEADER_LIMITS["limit_request_fields"]:
            return self._refuse(start_response, 431, "431 Request Header Fields Too Large", "headers_too_large")
        return self.app(environ, start_response)

    @staticmethod
    def _refuse(start_response: Callable[..., Any], status: int, line: str, code: str) -> list[bytes]:
        body = json.dumps({"error": {"code": code, "message": limit_message(status)}}).encode()
        start_response(line, [("Content-Type", "application/json"), ("Content-Length", str(len(body))),
                              ("Connection", "close")])
        return [body]


def create() -> RequestLimits:
    """The app factory a server calls in each worker (after the fork: its Redis client and
    SQL engine belong to that worker)."""
    from core.config import load_settings
    from serving.app import create_app

    return RequestLimits(create_app(load_settings()))
