"""Schemathesis generates requests from the OpenAPI document (valid and invalid ones) and
checks that nothing a client sends can make the API answer with a server error."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.transport.wsgi import WSGI_TRANSPORT

from serving.app import build_openapi
from storage.api_keys import Role

schema = schemathesis.openapi.from_dict(build_openapi())


@pytest.fixture(scope="module")
def fuzz_headers(deployment):  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    """An admin key of a tenant of its own, and the app under test wired into the schema."""
    from serving.app import create_app

    services, _ = deployment
    _key, secret = services.api_keys.create("fuzz", Role.ADMIN)
    app = create_app(services.settings.model_copy(update={"rate_limit": "100000/minute"}))
    return app, {"Authorization": f"Bearer {secret}"}


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_client_input_causes_a_server_error(case, fuzz_headers) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    app, headers = fuzz_headers
    response = WSGI_TRANSPORT.send(case, app=app, headers=headers)
    case.validate_response(response, checks=[not_a_server_error])
    if response.status_code >= 400 and response.headers.get("Content-Type", "").startswith("application/json"):
        assert "error" in response.json()
