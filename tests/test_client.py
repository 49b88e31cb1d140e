"""The Python client against a real HTTP server: ids escaped, datetimes sent, 429 and 503
retried with Retry-After (issue 16)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from werkzeug.serving import make_server

from serving.client import SolaceClient, SolaceError


@pytest.fixture
def served(deployment) -> Iterator[tuple[str, Any]]:  # type: ignore[no-untyped-def]
    from serving.app import create_app

    services, result = deployment
    server = make_server("127.0.0.1", 0, create_app(services.settings), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", result
    finally:
        server.shutdown()


@pytest.mark.slow
def test_ids_are_escaped_and_datetimes_sent(served) -> None:  # type: ignore[no-untyped-def]
    base, result = served
    client = SolaceClient(base, result.api_key)
    with pytest.raises(SolaceError) as refused:
        client.recommendations("a?b=c", k=3)  # one (refused) id, not a query string: was a 405
    assert refused.value.status == 422 and refused.value.field == "user_id"
    odd = f"tenant-user:{uuid.uuid4().hex[:6]}"
    assert client.recommendations(odd, k=3)["items"]
    rid = client.recommendations(odd, k=1)["items"][0]["resource_id"]
    sent = client.send_events([{"event_id": uuid.uuid4().hex, "user_id": odd, "resource_id": rid,
                                "type": "complete", "timestamp": datetime.now(UTC)}])
    assert sent == {"accepted": 1, "duplicates": 0}
    assert client.get_user(odd)["derived"]["completed"] == [rid]
    with_content = client.recommendations(odd, k=2, fields=["summary"])
    assert all("summary" in i["content"] for i in with_content["items"])
    with pytest.raises(SolaceError) as err:
        client.recommend(k=True)
    assert err.value.status == 422 and err.value.field == "k"


class _Flaky(BaseHTTPRequestHandler):
    calls = 0

    def do_GET(self) -> None:  # noqa: N802 - the standard library's name
        type(self).calls += 1
        if type(self).calls <= 2:
            self.send_response(503 if type(self).calls == 1 else 429)
            self.send_header("Retry-After", "0")
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"error": {"code": "unavailable", "message": "later"}}')
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"status": "ok"}')

    def log_message(self, *_args: object) -> None:
        pass


def test_503_and_429_are_retried_then_raised_when_they_persist() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Flaky)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.server_port}"
        assert SolaceClient(base, "key", backoff=0.01).health() == {"status": "ok"}
        assert _Flaky.calls == 3
        _Flaky.calls = -10  # now it keeps failing
        with pytest.raises(SolaceError) as err:
            SolaceClient(base, "key", retries=2, backoff=0.01).health()
        assert err.value.status in (429, 503)
    finally:
        server.shutdown()
