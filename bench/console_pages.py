"""Server time of each console page on the seed catalog (issue 18: no page over 300 ms).

Loads the bundled seed catalog into a temporary SOLACE_HOME, adds some outcome events so
the effectiveness page has rows, signs a reviewer in through Flask's test client and
renders each page N times. Prints p50 and p95 per page, then one JSON line. Not a test:
timings on a shared 2-core machine are too noisy to assert.

    .venv/bin/python -m bench.console_pages [--repeat 30]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    import redis

    from content_catalog.access import Actor
    from content_catalog.publish import publish_catalog
    from content_catalog.seed import load_seed_catalog
    from core.config import Settings
    from core.events import Event
    from serving.app import create_app
    from solace.services import Services
    from storage.staff import StaffRole

    redis_url = os.environ.get("SOLACE_BENCH_REDIS_URL", "redis://127.0.0.1:6379/5")
    prefix = f"solbench-console-{os.getpid()}"
    with tempfile.TemporaryDirectory() as home:
        settings = Settings(home=Path(home), redis_url=redis_url, redis_prefix=prefix)
        services = Services(settings)
        seed = load_seed_catalog()
        services.catalog.import_resources(seed, Actor.operator("bench-seed", reviewer=True), approve=True, trusted=True)
        publish_catalog(services.catalog, services.redis, services.keys)
        services.staff.create("bench-reviewer", StaffRole.ADMIN, "bench password 123")
        now = datetime.now(UTC)
        events = [Event(f"e{n}-{r.id}", f"u{n}", r.id, kind, now)
                  for n in range(20) for r in seed[:60] for kind in ("impression", "start", "complete")]
        services.events.add_batch("bench", events)  # the rollups the effectiveness page reads
        app = create_app(settings)
        client = app.test_client()
        page = client.get("/console/signin").data
        found = re.search(rb'name="csrf_token" value="([^"]+)"', page)
        assert found is not None
        token = found.group(1).decode()
        client.post("/console/signin", data={"name": "bench-reviewer", "password": "bench password 123",
                                             "csrf_token": token})
        rid = seed[0].id
        pages = {"catalog": "/console/", "catalog filtered": "/console/?type=exercise&topic=anxiety&locale=en",
                 "resource": f"/console/resources/{rid}", "edit": f"/console/resources/{rid}/edit",
                 "new": "/console/resources/new", "history": f"/console/resources/{rid}/history",
                 "review queue": "/console/review", "review": f"/console/review/{rid}",
                 "crisis lines": "/console/crisis", "effectiveness": "/console/outcomes", "models": "/console/models"}
        figures = {}
        print(f"{'page':<18} {'p50 ms':>8} {'p95 ms':>8}")
        for name, url in pages.items():
            assert client.get(url).status_code == 200, url
            times = []
            for _ in range(args.repeat):
                start = time.perf_counter()
                client.get(url)
                times.append((time.perf_counter() - start) * 1000)
            times.sort()
            p50, p95 = statistics.median(times), times[int(0.95 * (len(times) - 1))]
            figures[name] = {"p50_ms": round(p50, 1), "p95_ms": round(p95, 1)}
            print(f"{name:<18} {p50:>8.1f} {p95:>8.1f}")
        client_redis = redis.Redis.from_url(redis_url)
        for key in client_redis.scan_iter(match=f"{prefix}:*", count=1000):
            client_redis.delete(key)
        print(json.dumps({"bench": "console_pages", "resources": len(seed), "repeat": args.repeat,
                          "pages": figures, "load": os.getloadavg(), "run": uuid.uuid4().hex[:8]}))


if __name__ == "__main__":
    main()
