"""What the HTTP server answers before the app (gunicorn under ``solace serve``) is JSON in
the API's error shape, like every other answer (issue 16: a 431 came back as HTML)."""

from __future__ import annotations

import requests

from tests.conftest import raw_http


def test_headers_too_large_is_a_json_431(live_server) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    base, key = live_server
    response = requests.get(f"{base}/v1/users/u1/recommendations", timeout=10,
                            headers={"Authorization": f"Bearer {key}", "X-Padding": "a" * 9000})
    assert response.status_code == 431
    assert response.headers["Content-Type"] == "application/json"
    error = response.json()["error"]
    assert error["code"] == "headers_too_large" and "8190 bytes" in error["message"]
    many = {f"X-H{i}": "1" for i in range(120)}
    assert requests.get(f"{base}/healthz", headers=many, timeout=10).status_code == 431


def test_a_request_line_too_long_or_malformed_is_json(live_server) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    base, _key = live_server
    status, headers, body = raw_http(base, b"GET /v1/resources/search?q=" + b"a" * 5000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status == 414 and headers["content-type"] == "application/json"
    assert b'"uri_too_long"' in body
    status, headers, body = raw_http(base, b"NOT A REQUEST\r\n\r\n")
    assert status == 400 and headers["content-type"] == "application/json" and b'"error"' in body
    # an ordinary request still reaches the app
    assert requests.get(f"{base}/healthz", timeout=10).json() == {"status": "ok"}
