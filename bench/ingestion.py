"""Event ingestion: events per second accepted by ``POST /v1/events`` in batches of 100
(wrk, gunicorn 2 workers, SQLite under a temp SOLACE_HOME, real Redis), next to the same
batches written in-process by Solace's own functions and by the raw libraries.

    .venv/bin/python -m bench.ingestion [--quick]
"""

from __future__ import annotations

import sqlite3
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from bench.common import TENANT, BenchEnv, bench_env, emit_json, parse_args, print_table, say
from bench.deploy import create_api_key, deploy_synthetic, user_id
from bench.server import Server, have_wrk, run_wrk, run_wrk_cpu

BATCH = 100


def _events(n_batches: int, n_users: int, n_items: int, seed: int = 0) -> list[list[Any]]:
    import random

    from core.events import Event

    rnd = random.Random(seed)
    ts = datetime(2026, 1, 1, tzinfo=UTC)
    return [[Event(uuid.uuid4().hex, user_id(rnd.randrange(n_users)), f"item-{rnd.randrange(n_items):07d}",
                   "click", ts) for _ in range(BATCH)] for _ in range(n_batches)]


def inprocess_solace(be: BenchEnv, batches: list[list[Any]]) -> float:
    """EventStore.add_batch + apply_events, as the endpoint calls them; events/s."""
    from storage.db import get_engine
    from storage.events import EventStore
    from storage.keyspace import Keyspace
    from storage.user_state import apply_events

    store = EventStore(get_engine(be.settings().sql_url))
    client, keys = be.redis(), Keyspace(be.prefix)
    t = time.perf_counter()
    for b in batches:
        new = store.add_batch(TENANT, b)
        apply_events(client, keys, TENANT, [e for e in b if e.event_id in new], 72 * 3600)
    return len(batches) * BATCH / (time.perf_counter() - t)


def raw_libraries(be: BenchEnv, batches: list[list[Any]]) -> float:
    """sqlite3 executemany into a same-shaped table + one redis-py pipeline per batch."""
    db = sqlite3.connect(str(be.home / "raw.db"))
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("CREATE TABLE ev (id INTEGER PRIMARY KEY, tenant TEXT, event_id TEXT, user_id TEXT, "
               "resource_id TEXT, type TEXT, ts TEXT, UNIQUE(tenant, event_id))")
    client = be.redis()
    t = time.perf_counter()
    for b in batches:
        with db:
            db.executemany("INSERT OR IGNORE INTO ev (tenant, event_id, user_id, resource_id, type, ts) "
                           "VALUES (?, ?, ?, ?, ?, ?)",
                           [(TENANT, e.event_id, e.user_id, e.resource_id, e.type, e.timestamp.isoformat())
                            for e in b])
        p = client.pipeline(transaction=False)
        for e in b:
            p.hset(f"{be.prefix}:raw:{e.user_id}", e.resource_id, 1.0)
            p.delete(f"{be.prefix}:raw:{e.user_id}:lists")
        p.execute()
    rate = len(batches) * BATCH / (time.perf_counter() - t)
    db.close()
    return rate


def main() -> None:
    args = parse_args(__doc__, lambda ap: ap.add_argument(
        "--profile", action="store_true", help="py-spy one worker during an extra 4-connection run"))
    quick = args.quick
    n_users, n_items = 100_000, 1_000
    res: dict[str, Any] = {"batch": BATCH}
    with bench_env("ingest") as be:
        deploy_synthetic(be, n_items, 1000, embeddings=False)
        key = create_api_key(be)
        n_batches = 30 if quick else 200
        res["inprocess_solace_events_s"] = inprocess_solace(be, _events(n_batches, n_users, n_items, 1))
        res["raw_sqlite_redis_events_s"] = raw_libraries(be, _events(n_batches, n_users, n_items, 2))
        say(f"in-process: {res['inprocess_solace_events_s']:.0f} events/s, raw: {res['raw_sqlite_redis_events_s']:.0f}")
        if have_wrk():
            seconds = 5 if quick else 15
            cap = 300 if quick else 3000
            rows = []
            with Server(be, workers=2) as srv:
                srv.wait_ready()
                run_wrk(srv.url, key, 2, 2, 20, n_users, mode="events", n_items=n_items, workdir=be.home)
                for c in (1, 4):
                    r = run_wrk_cpu(srv, be.redis(), srv.url, key, c, seconds, cap, n_users,
                                    mode="events", n_items=n_items, workdir=be.home)
                    r["cpu_bound_events_s_2cores"] = r["cpu_bound_rps_2cores"] * BATCH
                    r["events_s"] = r["accepted"] / r["seconds"]
                    rows.append(r)
                    say(f"c={c}: {r}")
                if args.profile:
                    import threading
                    from pathlib import Path

                    from bench.serving import py_spy_top

                    pid = srv.worker_pids()[0]
                    out: dict[str, Any] = {}
                    spy = be.home / "spy-events.txt"
                    th = threading.Thread(target=lambda: out.update(top=py_spy_top(pid, 8, spy)))
                    th.start()
                    time.sleep(0.5)
                    run_wrk(srv.url, key, 4, 9, 10_000, n_users, mode="events", n_items=n_items,
                            workdir=be.home)
                    th.join()
                    res["py_spy_top"] = out.get("top", [])[:30]
                    if spy.exists():
                        kept = Path(__file__).with_name("results") / "py-spy-events.txt"
                        kept.parent.mkdir(exist_ok=True)
                        kept.write_text(spy.read_text())
            res["http"] = rows
            from storage.db import get_engine
            from storage.events import EventStore

            # every accepted event is stored (the warm-up and in-process ones too)
            res["stored_events"] = EventStore(get_engine(be.settings().sql_url)).count(TENANT)
            res["accepted_over_http"] = sum(r["accepted"] for r in rows)
            res["duplicates_over_http"] = sum(r["requests"] * BATCH - r["accepted"] for r in rows)
        else:
            say("wrk not found (apt-get install wrk): HTTP figures skipped")
    rows = [{"what": "raw sqlite3 executemany + redis-py pipeline (in-process)", "events_s": res["raw_sqlite_redis_events_s"]},
            {"what": "Solace add_batch + apply_events (in-process)", "events_s": res["inprocess_solace_events_s"]}]
    for r in res.get("http", []):
        rows.append({"what": f"Solace POST /v1/events over HTTP, {r['connections']} conn",
                     "events_s": r["events_s"], "p50_ms": r["p50_ms"], "p99_ms": r["p99_ms"],
                     "errors": r["errors"], "worker_cpu_ms_per_batch": r["worker_cpu_ms_per_req"],
                     "cpu_bound_events_s": r["cpu_bound_events_s_2cores"]})
    print_table("ingestion (batches of 100)", rows)
    for f, share in res.get("py_spy_top", [])[:25]:
        print(f"  {share * 100:5.1f}%  {f}")
    emit_json("ingestion", quick, res)


if __name__ == "__main__":
    main()
