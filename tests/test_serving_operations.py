"""Operations: rate limits, metrics, and surviving a Redis outage (a real redis-server
process that the test stops and starts again)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import uuid

import pytest
import redis

from serving.app import create_app


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for(url: str) -> None:
    for _ in range(100):
        try:
            redis.Redis.from_url(url).ping()
            return
        except redis.ConnectionError:
            time.sleep(0.1)
    raise AssertionError(f"redis-server at {url} did not start")


def test_rate_limit_answers_429_json_with_retry_after(deployment) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    services, result = deployment
    settings = services.settings.model_copy(update={"rate_limit": "3/minute", "redis_prefix": services.settings.redis_prefix + "-rl"})
    app = create_app(settings)
    client = app.test_client()
    headers = {"Authorization": f"Bearer {result.api_key}"}
    codes = [client.get("/healthz", headers=headers).status_code for _ in range(5)]
    assert codes == [200] * 5  # operations endpoints are never limited
    answers = [client.get("/v1/users/x1/recommendations", headers=headers) for _ in range(4)]
    assert all(a.status_code != 429 for a in answers[:3])  # within the limit (503: no model under this prefix)
    last = answers[3]
    assert last.status_code == 429
    assert last.json["error"]["code"] == "rate_limited"
    assert int(last.headers["Retry-After"]) > 0
    rl = redis.Redis.from_url(settings.redis_url)
    for key in rl.scan_iter(match=f"{settings.redis_prefix}*"):
        rl.delete(key)


def test_recommendations_count_in_their_own_pipeline_per_key_and_other_routes_keep_theirs(deployment) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    """The recommendation routes count in the state pipeline (no limiter round trip): per
    API key, both routes together, with Retry-After; another key is not touched, and the
    other routes keep flask-limiter's own count."""
    from storage.api_keys import Role

    services, result = deployment
    settings = services.settings.model_copy(update={"rate_limit": "3/minute",
                                                    "redis_prefix": services.settings.redis_prefix + "-rl2"})
    client = create_app(settings).test_client()
    _key, other_secret = services.api_keys.create("demo", Role.PLATFORM)
    mine = {"Authorization": f"Bearer {result.api_key}"}
    other = {"Authorization": f"Bearer {other_secret}"}
    try:
        codes = [client.get("/v1/users/x1/recommendations", headers=mine).status_code,
                 client.post("/v1/recommendations", json={"k": 3}, headers=mine).status_code,
                 client.get("/v1/users/x2/recommendations", headers=mine).status_code]
        assert 429 not in codes
        refused = client.post("/v1/recommendations", json={"k": 3}, headers=mine)
        assert refused.status_code == 429 and refused.json["error"]["code"] == "rate_limited"
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        assert client.get("/v1/users/x1/recommendations", headers=other).status_code != 429
        events = [client.post("/v1/events", json={"events": []}, headers=mine).status_code for _ in range(4)]
        assert 429 not in events[:3] and events[3] == 429  # flask-limiter's own count for this route
        # what no blueprint exempts stays limited: the console's sign-in page too
        console = [client.get("/console/signin").status_code for _ in range(4)]
        assert 429 not in console[:3] and console[3] == 429
    finally:
        rl = redis.Redis.from_url(settings.redis_url)
        for key in rl.scan_iter(match=f"{settings.redis_prefix}*"):
            rl.delete(key)


def test_metrics_expose_routes_model_version_and_cache_hits(app_client, deployment) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    _services, result = deployment
    for _ in range(2):
        app_client.get("/v1/users/sim-00007/recommendations?k=3")
    response = app_client.get("/metrics")
    text = response.data.decode()
    # Prometheus' parser refuses a media type with a repeated parameter
    assert response.headers["Content-Type"].count("charset") == 1
    assert 'route="/v1/users/<user_id>/recommendations"' in text
    assert f'solace_model_active{{version="{result.version}"}} 1.0' in text
    assert 'solace_cached_list_lookups_total{result="hit"}' in text
    assert "solace_request_seconds_bucket" in text


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server binary not on PATH")
def test_workers_answer_degraded_while_redis_is_down_and_recover(deployment) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    from solace.jobs import publish
    from solace.services import Services

    services, result = deployment
    port = _free_port()
    cmd = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    server = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    try:
        url = f"redis://127.0.0.1:{port}/0"
        _wait_for(url)
        settings = services.settings.model_copy(update={"redis_url": url, "redis_prefix": f"outage-{uuid.uuid4().hex[:6]}"})
        own = Services(settings)
        publish(own, result.version)
        client = create_app(settings).test_client()
        client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {result.api_key}"
        user = result.example_user
        ok = client.get(f"/v1/users/{user}/recommendations?k=5").json
        assert ok["degraded"] is False and ok["source"] == "personalised"

        server.terminate()
        server.wait(timeout=10)
        down = client.get(f"/v1/users/{user}/recommendations?k=5")
        assert down.status_code == 200
        # the user's history comes from SQL, folded in with the model the worker holds
        assert down.json["degraded"] is True and down.json["source"] == "personalised"
        assert len(down.json["items"]) == 5
        assert client.get("/readyz").status_code == 503

        server = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
        _wait_for(url)
        publish(own, result.version)  # this test server keeps nothing on disk
        back = client.get(f"/v1/users/{user}/recommendations?k=5").json
        assert back["degraded"] is False
        assert client.get("/readyz").status_code == 200
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_metrics_of_several_worker_processes_add_up_in_one_scrape(tmp_path) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    """Under gunicorn each worker is a process; a scrape answered by any one of them must
    count every worker's requests (prometheus_client's multiprocess mode)."""
    import os
    import subprocess
    import sys

    from prometheus_client.parser import text_string_to_metric_families

    worker = (
        "import sys\n"
        "from pathlib import Path\n"
        "from serving.metrics import ServingMetrics\n"
        "m = ServingMetrics(Path(sys.argv[1]))\n"
        "m.requests.labels('/v1/x', 'GET', '200').inc(int(sys.argv[2]))\n"
        "m.degraded.set(0)\n"
        "print(m.exposition().decode())\n"
    )
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    outputs = [subprocess.run([sys.executable, "-c", worker, str(tmp_path), str(n)], env=env, check=True,
                              capture_output=True, text=True).stdout for n in (3, 5)]

    def total(text: str) -> float:
        return sum(s.value for f in text_string_to_metric_families(text) for s in f.samples
                   if s.name == "solace_requests_total" and s.labels.get("route") == "/v1/x")

    assert total(outputs[0]) == 3 and total(outputs[1]) == 8  # the second process's scrape counts both
