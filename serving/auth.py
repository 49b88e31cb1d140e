"""Bearer API keys and roles. A request's tenant comes from its key, never from the URL."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import g, request

from serving.errors import ApiError
from serving.state import state
from storage.api_keys import ApiKey, Role

F = TypeVar("F", bound=Callable[..., Any])

# What each role may do; admin may do everything.
_ALLOWED = {
    Role.PLATFORM: {Role.PLATFORM},
    Role.EDITOR: {Role.EDITOR},
    Role.ADMIN: {Role.PLATFORM, Role.EDITOR, Role.ADMIN},
}


def current_key() -> ApiKey:
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise ApiError(
            401, "unauthorized", "send your API key as 'Authorization: Bearer <key>'",
            headers={"WWW-Authenticate": "Bearer"},
        )
    key = state().key_cache.authenticate(secret.strip())
    if key is None:
        raise ApiError(401, "unauthorized", "unknown or revoked API key",
                       headers={"WWW-Authenticate": "Bearer"})
    return key


def require(role: Role, *also: Role) -> Callable[[F], F]:
    """The view needs a key whose role covers ``role`` (or one of ``also``)."""
    roles = (role, *also)

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            key = current_key()
            if not any(r in _ALLOWED[key.role] for r in roles):
                raise ApiError(403, "forbidden", f"this endpoint needs a {' or '.join(r.value for r in roles)} key")
            g.api_key = key
            g.tenant = key.tenant
            return view(*args, **kwargs)

        wrapper._solace_role = role  # type: ignore[attr-defined]  # a marker read by the OpenAPI document
        return wrapper  # type: ignore[return-value]  # wraps keeps the view's signature

    return decorate
