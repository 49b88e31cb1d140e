"""Freshness: time from ``POST /v1/events`` returning to the next recommendation that
reflects it (the completed item has left the user's list), over HTTP against gunicorn.

    .venv/bin/python -m bench.freshness [--quick]

Each trial takes a new user: GET their list (uncached), POST a ``complete`` event for the
top item, then GET again (bounded retries) until the item is gone. The plain uncached GET
of the same loop is the floor the freshness figure is compared with.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from bench.common import bench_env, emit_json, parse_args, percentiles, print_table, say
from bench.deploy import create_api_key, deploy_synthetic, user_id
from bench.server import Server, http

MAX_RETRIES = 50


def main() -> None:
    args = parse_args(__doc__)
    quick = args.quick
    trials = 40 if quick else 300
    n_items = 10_000
    n_users = 20_000 if quick else 100_000
    with bench_env("fresh") as be:
        dep = deploy_synthetic(be, n_items, n_users, embeddings=True)
        key = create_api_key(be)
        fresh, first_get, post_lat, retries = [], [], [], []
        not_reflected = 0
        with Server(be, workers=2) as srv:
            srv.wait_ready()
            for _ in range(6):
                http(srv.url + f"/v1/users/{user_id(n_users - 1)}/recommendations?k=10", key, timeout=120)
            deadline = time.monotonic() + (40 if quick else 240)
            for i in range(trials):
                if time.monotonic() > deadline:
                    say(f"time bound reached after {i} trials")
                    break
                u = user_id(i)
                url = srv.url + f"/v1/users/{u}/recommendations?k=10"
                t = time.perf_counter()
                status, body = http(url, key)
                first_get.append(time.perf_counter() - t)
                assert status == 200, body
                top = next(it["resource_id"] for it in body["items"] if not it["is_crisis_resource"])
                ev = {"events": [{"event_id": uuid.uuid4().hex, "user_id": u, "resource_id": top,
                                  "type": "complete", "timestamp": "2026-01-01T00:00:00Z"}]}
                t = time.perf_counter()
                status, resp = http(srv.url + "/v1/events", key, method="POST", body=ev)
                t0 = time.perf_counter()
                post_lat.append(t0 - t)
                assert status == 202 and resp["accepted"] == 1, resp
                for n in range(MAX_RETRIES):
                    status, body = http(url, key)
                    if status == 200 and top not in {it["resource_id"] for it in body["items"]}:
                        fresh.append(time.perf_counter() - t0)
                        retries.append(n)
                        break
                else:
                    not_reflected += 1
    res: dict[str, Any] = {
        "items": len(dep.item_ids), "trials": len(post_lat),
        "freshness": percentiles(fresh), "uncached_get": percentiles(first_get),
        "post_event": percentiles(post_lat), "reflected_on_first_get": sum(1 for r in retries if r == 0),
        "not_reflected": not_reflected,
    }
    rows = [
        {"what": "POST /v1/events returned -> next GET reflects it", **res["freshness"]},
        {"what": "uncached GET (floor, same loop)", **res["uncached_get"]},
        {"what": "POST /v1/events (1 event)", **res["post_event"]},
    ]
    print_table(f"freshness ({res['items']:,} items)", rows)
    print(f"reflected on the first GET: {res['reflected_on_first_get']}/{res['trials']}; "
          f"never reflected: {not_reflected}")
    emit_json("freshness", quick, res)


if __name__ == "__main__":
    main()
