"""``solace serve --server granian``: the same API over real HTTP as under gunicorn, the same
lists, and gunicorn's request-size limits answered in the API's error shape by the app's
own middleware (``serving.wsgi.RequestLimits``), since granian has none of its own."""

from __future__ import annotations

import re

import requests

from serving.wsgi import RequestLimits
from tests.conftest import raw_http


def test_granian_serves_the_same_lists_as_gunicorn(live_server, live_granian) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    (gunicorn, key), (granian, _key) = live_server, live_granian
    auth = {"Authorization": f"Bearer {key}"}
    for user in ("sim-00001", "sim-00042", "someone-new"):
        a = requests.get(f"{gunicorn}/v1/users/{user}/recommendations?k=6", headers=auth, timeout=30)
        b = requests.get(f"{granian}/v1/users/{user}/recommendations?k=6", headers=auth, timeout=30)
        assert a.status_code == b.status_code == 200
        assert [i["resource_id"] for i in a.json()["items"]] == [i["resource_id"] for i in b.json()["items"]]
    crisis = requests.post(f"{granian}/v1/recommendations", headers=auth, timeout=30,
                           json={"k": 5, "locale": "en-GB", "context": {"text": "i want to end my life"}}).json()
    assert crisis["crisis"] is True and crisis["items"][0]["is_crisis_resource"] is True
    # errors keep the API's shape, and metrics come from both workers' files
    assert requests.get(f"{granian}/v1/users/sim-00001/recommendations", timeout=10).json()["error"]["code"] == "unauthorized"
    metrics = requests.get(f"{granian}/metrics", timeout=10).text
    assert re.search(r'solace_requests_total\{[^}]*route="/v1/users/<user_id>/recommendations"', metrics)


def test_granian_refuses_oversized_requests_in_json(live_granian) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    base, key = live_granian
    big = requests.get(f"{base}/v1/users/u1/recommendations", timeout=10,
                       headers={"Authorization": f"Bearer {key}", "X-Padding": "a" * 9000})
    assert big.status_code == 431 and big.headers["Content-Type"] == "application/json"
    assert big.json()["error"]["code"] == "headers_too_large" and "8190 bytes" in big.json()["error"]["message"]
    # more than 100 headers: granian's own parser refuses them first, with a bare 431 (its
    # limit is the same number; the answer has no body, which docs/deployment.md says)
    many = requests.get(f"{base}/healthz", headers={f"X-H{i}": "1" for i in range(120)}, timeout=10)
    assert many.status_code == 431
    status, _headers, body = raw_http(base, b"GET /v1/resources/search?q=" + b"a" * 5000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status == 414 and b'"uri_too_long"' in body
    # just under the limits still reaches the app
    ok = requests.get(f"{base}/healthz", headers={"X-Padding": "a" * 8000}, timeout=10)
    assert ok.status_code == 200 and ok.json() == {"status": "ok"}


def _through_limits(environ: dict[str, str]) -> tuple[str, bytes]:
    seen: list[str] = []
    body = RequestLimits(lambda _env, start: (start("200 OK", []), [b"app"])[1])(
        {"REQUEST_METHOD": "GET", "PATH_INFO": "/v1/x", "QUERY_STRING": "", "SERVER_PROTOCOL": "HTTP/1.1", **environ},
        lambda status, _headers: seen.append(status))
    return seen[0], b"".join(body)


def test_the_limits_middleware_refuses_exactly_past_gunicorns_numbers() -> None:
    """Each branch of serving.wsgi.RequestLimits, at and past its limit (granian's own parser
    refuses over 100 headers before the app, so only this reaches the count branch)."""
    assert _through_limits({f"HTTP_X_H{i}": "1" for i in range(100)}) == ("200 OK", b"app")
    status, body = _through_limits({f"HTTP_X_H{i}": "1" for i in range(101)})
    assert status.startswith("431") and b'"headers_too_large"' in body
    # "X-Pad: " + value is the header line: 8,190 bytes pass, one more does not
    assert _through_limits({"HTTP_X_PAD": "a" * (8190 - 7)})[0] == "200 OK"
    assert _through_limits({"HTTP_X_PAD": "a" * (8190 - 6)})[0].startswith("431")
    # "GET " + path + " HTTP/1.1": 4,094 bytes pass, one more does not; a query counts with its "?"
    assert _through_limits({"PATH_INFO": "/" + "a" * (4094 - 14)})[0] == "200 OK"
    status, body = _through_limits({"PATH_INFO": "/" + "a" * (4094 - 13)})
    assert status.startswith("414") and b'"uri_too_long"' in body
    assert _through_limits({"PATH_INFO": "/", "QUERY_STRING": "q=" + "a" * (4094 - 17)})[0] == "200 OK"
    assert _through_limits({"PATH_INFO": "/", "QUERY_STRING": "q=" + "a" * (4094 - 16)})[0].startswith("414")
