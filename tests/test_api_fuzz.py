"""Schemathesis generates requests from the OpenAPI document (valid and invalid ones) and
checks the answers against the same document: never a server error, and every answer's
status code, content type, headers and body are the ones the document gives for that
operation (issue 16: the contract is exact, not only free of 5xx)."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.transport.wsgi import WSGI_TRANSPORT

from serving.app import build_openapi
from storage.api_keys import Role
from storage.staff import StaffRole

schema = schemathesis.openapi.from_dict(build_openapi())
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance, negative_data_rejection]


@pytest.fixture(scope="module")
def fuzz_headers(deployment):  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    """An admin key of a tenant of its own, and the app under test wired into the schema."""
    from serving.app import create_app

    services, _ = deployment
    # bound to a named admin, so the catalog's write paths are fuzzed too (an unbound key only reads)
    services.staff.create("fuzz-admin", StaffRole.ADMIN, "correct horse battery", "fuzz")
    _key, secret = services.api_keys.create("fuzz", Role.ADMIN, staff="fuzz-admin")
    app = create_app(services.settings.model_copy(update={"rate_limit": "100000/minute"}))
    return app, {"Authorization": f"Bearer {secret}"}


@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_answer_conforms_to_the_document(case, fuzz_headers) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    app, headers = fuzz_headers
    response = WSGI_TRANSPORT.send(case, app=app, headers=headers)
    case.validate_response(response, checks=CHECKS)
    if response.status_code >= 400 and case.path != "/readyz":
        assert "error" in response.json()


def test_the_document_is_exact_where_a_reader_looks(fuzz_headers) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    """Readable summaries, stable schema names, and the statuses a platform must handle."""
    document = build_openapi()
    assert not [n for n in document["components"]["schemas"] if "." in n]
    for path, operations in document["paths"].items():
        for method, op in operations.items():
            where = f"{method.upper()} {path}"
            assert "``" not in op["summary"] + op["description"], where
            assert "<" not in op["summary"] and len(op["summary"]) < 200, where
            codes = set(op["responses"])
            assert {"400", "422", "431", "500"} <= codes, where
            if op.get("security") != []:
                assert {"401", "403", "429", "503"} <= codes, where
                for status in ("429", "503"):
                    assert "Retry-After" in op["responses"][status]["headers"], where
            if "requestBody" in op:
                assert "413" in codes, where
            for status, response in op["responses"].items():
                if status >= "400":
                    ref = response["content"]["application/json"]["schema"]["$ref"]
                    assert ref.endswith(("/ErrorResponse", "/ReadyOut")), where
    paths = document["paths"]
    assert "202" in paths["/v1/events"]["post"]["responses"]
    assert "200" not in paths["/v1/events"]["post"]["responses"]
    patch = paths["/v1/resources/{resource_id}"]["patch"]
    assert "requestBody" in patch and any(p["name"] == "If-Match" for p in patch["parameters"])
    assert "304" in paths["/v1/catalog/feed"]["get"]["responses"]
