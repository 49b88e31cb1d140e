"""Every error the API returns, in one shape: ``{"error": {"code", "message", "field"?}}``.

Handlers are registered in one place; a client's bad input is a 4xx naming the field,
and anything unexpected is a logged 500 without internals in the body.
"""

from __future__ import annotations

import logging

from flask import Flask, jsonify
from pydantic import ValidationError
from werkzeug.exceptions import HTTPException

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


_HTTP_CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 409: "conflict", 413: "payload_too_large",
    415: "unsupported_media_type", 422: "invalid_field", 429: "rate_limited",
}


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError):  # type: ignore[no-untyped-def]
        response = jsonify(error_body(exc.code, exc.message, exc.field))
        response.status_code = exc.status
        response.headers.update(exc.headers)
        return response

    @app.errorhandler(ValidationError)
    def _validation(exc: ValidationError):  # type: ignore[no-untyped-def]
        return _api_error(validation_error(exc))

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):  # type: ignore[no-untyped-def]
        status = exc.code or 500
        code = _HTTP_CODES.get(status, "error")
        message = exc.description or code
        if status == 429:
            message = "too many requests for this API key; retry later"
        response = jsonify(error_body(code, message))
        response.status_code = status
        if status == 429:
            limit = getattr(exc, "limit", None)
            window = limit.limit.get_expiry() if limit is not None else 60
            response.headers["Retry-After"] = str(int(window))
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):  # type: ignore[no-untyped-def]
        log.exception("unhandled error")
        response = jsonify(error_body("internal", "an internal error occurred; it has been logged"))
        response.status_code = 500
        return response
