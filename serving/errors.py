"""Every error the API returns, in one shape: ``{"error": {"code", "message", "field"?}}``.

Handlers are registered in one place; a client's bad input is a 4xx naming the field,
and anything unexpected is a logged 500 without internals in the body. The same place
installs the guards that keep hostile input from ever reaching a handler as a 500:
every JSON body is parsed by ``serving.safe_json`` (through :class:`SafeRequest`, so
``request.get_json`` anywhere is safe), and every path and query value is checked
before the view runs.
"""

from __future__ import annotations

import logging

from typing import Any
from urllib.parse import parse_qsl

from flask import Flask, current_app, Request, jsonify, request
from flask.typing import ResponseReturnValue
from pydantic import ValidationError
from redis.exceptions import RedisError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from serving.safe_json import InputProblem, check_url_text, parse_json_body

log = logging.getLogger("solace.serving")


class ApiError(Exception):
    def __init__(
        self, status: int, code: str, message: str, field: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.headers = headers or {}


def error_body(code: str, message: str, field: str | None = None) -> dict[str, object]:
    body: dict[str, object] = {"code": code, "message": message}
    if field:
        body["field"] = field
    return {"error": body}


def validation_error(exc: ValidationError, prefix: str = "") -> ApiError:
    first = exc.errors()[0]
    loc = ".".join(str(p) for p in first.get("loc", ()) if p != "__root__")
    field = f"{prefix}{loc}" if loc else (prefix.rstrip(".") or None)
    message = first.get("msg", "invalid value")
    message = message.removeprefix("Value error, ")
    return ApiError(422, "invalid_field", f"{field}: {message}" if field else message, field)


_UNSET: Any = object()


class SafeRequest(Request):
    """Flask's request, whose ``get_json`` parses with :func:`parse_json_body`.

    A body that is not acceptable JSON raises :class:`InputProblem` (a 400 or 422) even
    with ``silent=True``: a view asking silently still must not get ``NaN``, a duplicate
    key's last value or a NUL character, and the client learns what was wrong. A body
    not declared as JSON is still ``None`` when silent (each view says what to send).
    """

    _solace_json: Any = _UNSET

    def get_json(self, force: bool = False, silent: bool = False, cache: bool = True) -> Any:
        if cache and self._solace_json is not _UNSET:
            return self._solace_json
        if not (force or self.is_json):
            return None if silent else self.on_json_loading_failed(None)
        value = parse_json_body(self.get_data(cache=cache))
        if cache:
            self._solace_json = value
        return value


def check_url_values() -> None:
    """Before any view: the path and every query value are strict UTF-8 without unstorable
    characters (Werkzeug would hand views U+FFFD for bad bytes, and NUL reaches the
    database), and no query parameter is given twice (a view reads only the first)."""
    raw_path = request.environ.get("PATH_INFO", "")
    check_url_text("path", raw_path.encode("latin-1", "replace"))
    for name, value in (request.view_args or {}).items():
        check_url_text(name, str(value).encode("utf-8", "surrogatepass"))
    seen: set[str] = set()
    query = request.query_string.decode("latin-1")
    for raw_name, raw_value in parse_qsl(query, keep_blank_values=True, encoding="latin-1"):
        name = check_url_text("query", raw_name.encode("latin-1"))
        check_url_text(name, raw_value.encode("latin-1"))
        if name in seen:
            raise InputProblem(422, "invalid_field", f"{name}: given more than once; send it once", name)
        seen.add(name)


def install_input_guards(app: Flask) -> None:
    """Safe JSON bodies and checked path and query values for every endpoint of ``app``."""
    app.request_class = SafeRequest
    app.before_request(check_url_values)


_HTTP_CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 409: "conflict", 413: "payload_too_large",
    415: "unsupported_media_type", 422: "invalid_field", 429: "rate_limited",
}


def register_error_handlers(app: Flask) -> None:
    install_input_guards(app)

    @app.errorhandler(InputProblem)
    def _input_problem(exc: InputProblem) -> ResponseReturnValue:
        return _api_error(ApiError(exc.status, exc.code, exc.message, exc.field))

    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError) -> ResponseReturnValue:
        response = jsonify(error_body(exc.code, exc.message, exc.field))
        response.status_code = exc.status
        response.headers.update(exc.headers)
        return response

    @app.errorhandler(ValidationError)
    def _validation(exc: ValidationError) -> ResponseReturnValue:
        return _api_error(validation_error(exc))

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> ResponseReturnValue:
        status = exc.code or 500
        code = _HTTP_CODES.get(status, "error")
        message = exc.description or code
        if status == 429:
            message = "too many requests for this API key; retry later"
        if status == 413:
            limit = current_app.config.get("MAX_CONTENT_LENGTH")
            message = f"the body is larger than the limit of {limit} bytes" if limit else message
        response = jsonify(error_body(code, message))
        response.status_code = status
        if status == 429:
            limit = getattr(exc, "limit", None)
            window = limit.limit.get_expiry() if limit is not None else 60
            response.headers["Retry-After"] = str(int(window))
        return response

    @app.errorhandler(RedisError)
    @app.errorhandler(OperationalError)
    def _unavailable(exc: Exception) -> ResponseReturnValue:
        # a store is unreachable: the client may retry; never a 500 for the client's input
        # the traceback says which call met the outage (store errors carry no user data)
        log.warning("a store is unreachable: %s", type(exc).__name__, exc_info=exc)
        response = jsonify(error_body("unavailable", "a backing store is briefly unreachable; retry shortly"))
        response.status_code = 503
        response.headers["Retry-After"] = "5"
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> ResponseReturnValue:
        log.exception("unhandled error")
        response = jsonify(error_body("internal", "an internal error occurred; it has been logged"))
        response.status_code = 500
        return response
