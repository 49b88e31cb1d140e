"""Serving latency and throughput over HTTP (gunicorn, 2 workers, real Redis, wrk), next to
the raw limits measured in the same run: numpy scoring + argpartition top-10 in-process,
one raw redis-py pipeline of the request's reads, and Solace's ``recommend()`` without HTTP.

    .venv/bin/python -m bench.serving [--quick] [--profile]

Needs ``wrk`` (Debian package) and Redis at 127.0.0.1:6379 (database 5 by default).
"""

from __future__ import annotations

import os
import subprocess
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import TENANT, BenchEnv, bench_env, emit_json, parse_args, percentiles, print_table, say
from bench.deploy import create_api_key, deploy_synthetic, user_id
from bench.server import Server, have_wrk, http, run_wrk, run_wrk_cpu


def raw_limit(item_matrix: np.ndarray, users: np.ndarray, reps: int, threads: int | None = None) -> dict[str, Any]:
    """numpy matrix-vector product + argpartition top-10 (+ sort of the 10), per user.

    ``threads``: BLAS threads (None: numpy's default, one per core)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=threads, user_api="blas"):
        return _raw_limit(item_matrix, users, reps)


def _raw_limit(item_matrix: np.ndarray, users: np.ndarray, reps: int) -> dict[str, Any]:
    rng = np.random.default_rng(0)
    rows = rng.integers(0, users.shape[0], size=reps)
    times = []
    for r in rows:
        u = users[r]
        t = time.perf_counter()
        s = item_matrix @ u
        part = np.argpartition(-s, 9)[:10]
        part[np.argsort(-s[part])]
        times.append(time.perf_counter() - t)
    return percentiles(times)


def raw_redis_pipeline(be: BenchEnv, version: str, n_users: int, reps: int) -> dict[str, Any]:
    """The request's reads as one raw redis-py pipeline (the Redis floor of a request)."""
    import redis

    from storage.keyspace import Keyspace

    keys = Keyspace(be.prefix)
    client = redis.Redis.from_url(be.redis_url)
    rng = np.random.default_rng(1)
    times = []
    for r in rng.integers(0, n_users, size=reps):
        u = user_id(int(r))
        t = time.perf_counter()
        p = client.pipeline(transaction=False)
        p.get(keys.active_model)
        p.get(keys.catalog_version)
        p.hget(*keys.user_vector(TENANT, version, u))
        p.smembers(keys.user_completed(TENANT, u))
        p.smembers(keys.user_dismissed(TENANT, u))
        p.hgetall(keys.user_interactions(TENANT, u))
        p.get(keys.user_profile(TENANT, u))
        p.exists(keys.user_risk(TENANT, u))
        p.hget(keys.user_cached_lists(TENANT, u), "x")
        p.execute()
        times.append(time.perf_counter() - t)
    return percentiles(times)


def inprocess_recommend(be: BenchEnv, n_users: int, reps: int, profile_to: Path | None = None,
                        blas_threads: int = 1) -> dict[str, Any]:
    """Solace's ``recommend()`` in-process (no HTTP, no Flask request), random users; with
    one BLAS thread, as ``solace serve`` runs (``solace/__init__.py`` sets it)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=blas_threads, user_api="blas"):
        return _inprocess_recommend(be, n_users, reps, profile_to)


def _inprocess_recommend(be: BenchEnv, n_users: int, reps: int, profile_to: Path | None) -> dict[str, Any]:
    from serving.app import create_app
    from serving.recommend import RecRequest, recommend
    from serving.state import state

    app = create_app(be.settings(cache_ttl_seconds=0))
    rng = np.random.default_rng(2)
    with app.app_context():
        st = state()
        recommend(st, RecRequest(tenant=TENANT, user_id=user_id(0), k=10))  # loads the model
        users = [user_id(int(r)) for r in rng.integers(0, n_users, size=reps)]
        times = []
        for u in users:
            t = time.perf_counter()
            recommend(st, RecRequest(tenant=TENANT, user_id=u, k=10))
            times.append(time.perf_counter() - t)
        if profile_to is not None:  # a second pass: the profiler's overhead stays out of the timings
            from pyinstrument import Profiler

            prof = Profiler(interval=0.0002)
            prof.start()
            for u in users:
                recommend(st, RecRequest(tenant=TENANT, user_id=u, k=10))
            prof.stop()
            profile_to.write_text(prof.output_text(unicode=False, color=False, show_all=False))
    return percentiles(times)


def py_spy_top(pid: int, seconds: int, out: Path) -> list[tuple[str, float]]:
    """py-spy a worker (raw collapsed stacks, only samples holding the GIL: the worker's
    Python CPU, not threads waiting for it) and return the top frames by inclusive share,
    then each package's share of the time spent in its own code (``self: <package>``)."""
    from shutil import which

    spy = which("py-spy") or str(Path(__import__("sys").executable).with_name("py-spy"))
    subprocess.run([spy, "record", "--pid", str(pid), "--duration", str(seconds), "--rate", "250", "--gil",
                    "--format", "raw", "--output", str(out), "--nonblocking"],
                   capture_output=True, timeout=seconds + 60)
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    if not out.exists():
        return []
    skip = ("click/", "solace/cli.py", "solace/serve.py", "<module>", "threading.py", "concurrent/")
    for line in out.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        if not n.isdigit():
            continue
        total += int(n)
        frames = stack.split(";")
        for f in {_frame(f) for f in frames}:
            if not any(x in f for x in skip):
                inclusive[f] += int(n)
        own["self: " + _package(frames[-1])] += int(n)
    if not total:
        return []
    return [(f, c / total) for f, c in inclusive.most_common(40)] + [(p, c / total) for p, c in own.most_common(15)]


def _package(f: str) -> str:
    """The package a frame's code belongs to (py-spy names files by module path, e.g.
    ``redis/connection.py``, ``serving/recommend.py``, ``threading.py``)."""
    path = f.partition(" (")[2].split(":")[0]
    if "site-packages/" in path:
        path = path.split("site-packages/")[1]
    first = path.split("/")[0]
    return first[:-3] if first.endswith(".py") else first or "?"


def _frame(f: str) -> str:
    """``func (path/file.py:line)`` -> ``func (pkg/file.py)``."""
    if " (" not in f:
        return f
    func, _, rest = f.partition(" (")
    path = rest.split(":")[0]
    parts = path.split("/")
    return f"{func} ({'/'.join(parts[-2:])})"


def bench_catalog(be: BenchEnv, n_items: int, n_users: int, quick: bool, profile: bool,
                  blas_threads: int | None = None, servers: tuple[str, ...] = ("gunicorn",)) -> dict[str, Any]:
    say(f"deploying {n_items:,} items and {n_users:,} user vectors")
    dep = deploy_synthetic(be, n_items, n_users)
    say(f"deployed: {dep.timings}")
    key = create_api_key(be)
    reps = 300 if quick else 2000
    out: dict[str, Any] = {"items": len(dep.item_ids), "users": n_users, "deploy": dep.timings}
    out["raw_numpy_top10"] = raw_limit(dep.item_matrix, dep.user_vectors, reps)
    out["raw_numpy_top10_1blas"] = raw_limit(dep.item_matrix, dep.user_vectors, reps, threads=1)
    out["raw_redis_pipeline"] = raw_redis_pipeline(be, dep.version, n_users, reps)
    prof_path = be.home / f"pyinstrument-{n_items}.txt" if profile else None
    out["inprocess_recommend"] = inprocess_recommend(be, n_users, reps // 2, prof_path, blas_threads or 1)
    if prof_path is not None:
        kept = Path(__file__).with_name("results") / prof_path.name
        kept.parent.mkdir(exist_ok=True)
        kept.write_text(prof_path.read_text())
        out["pyinstrument_profile"] = str(kept)
    out["servers"] = {}
    if not have_wrk():
        say("wrk not found (apt-get install wrk): HTTP figures skipped")
        return out
    for server in servers:
        out["servers"][server] = http_runs(be, key, n_items, n_users, quick, profile, server)
    return out


def http_runs(be: BenchEnv, key: str, n_items: int, n_users: int, quick: bool, profile: bool,
              server: str) -> dict[str, Any]:
    """wrk against ``solace serve --server SERVER`` (2 workers x 4 threads): uncached lists
    at concurrency 1, 8 and 32, cached-list hits at 1 and 8, a contextual request at 1."""
    seconds = 4 if quick else 15
    cap = 40000 if quick else 200000  # far above what 2 cores answer: the time bounds each run
    rclient = be.redis()
    out: dict[str, Any] = {"server": server}
    with Server(be, workers=2, threads=int(os.environ.get("SOLACE_BENCH_THREADS", "4")), server=server) as srv:
        srv.wait_ready()
        for _ in range(6):  # the workers loaded the model before accepting; this warms their caches
            http(srv.url + f"/v1/users/{user_id(0)}/recommendations?k=10", key, timeout=120)
        run_wrk(srv.url, key, 4, 3, 400, n_users, workdir=be.home)
        out["worker_rss_mib"] = srv.worker_rss_mib()
        rows = []
        for c in (1, 8, 32):
            r = run_wrk_cpu(srv, rclient, srv.url, key, c, seconds, cap, n_users, workdir=be.home)
            rows.append(r)
            say(f"{server}, {n_items} items c={c}: {r}")
        out["http"] = rows
        if profile:
            import threading

            pid = srv.worker_pids()[0]
            res: dict[str, Any] = {}
            th = threading.Thread(target=lambda: res.update(top=py_spy_top(pid, 8, be.home / "spy.txt")))
            th.start()
            time.sleep(0.5)
            run_wrk(srv.url, key, 8, 9, 100000, n_users, workdir=be.home)
            th.join()
            out["py_spy_top"] = res.get("top", [])
            kept = Path(__file__).with_name("results") / f"py-spy-{server}-{n_items}.txt"
            kept.parent.mkdir(exist_ok=True)
            if (be.home / "spy.txt").exists():
                kept.write_text((be.home / "spy.txt").read_text())
        # cached-list hits: a few users whose lists were just cached (TTL 30 s)
        hot = 16
        for i in range(hot):
            http(srv.url + f"/v1/users/{user_id(i)}/recommendations?k=10", key)
            http(srv.url + f"/v1/users/{user_id(i)}/recommendations?k=10", key)
        cached = []
        for c in (1, 8):
            r = run_wrk_cpu(srv, rclient, srv.url, key, c, min(seconds, 8), cap, hot, workdir=be.home)
            cached.append(r)
        out["http_cached"] = cached
        # a contextual request: the text is embedded (encoder warm: loaded before the
        # worker accepts) and checked for risk on every request; never cached
        out["http_context"] = [run_wrk_cpu(srv, rclient, srv.url, key, 1, min(seconds, 8), cap, n_users,
                                           mode="context", workdir=be.home)]
    return out


def _http(r: dict[str, Any], part: str, conc: int) -> dict[str, Any] | None:
    return next((h for h in r.get(part) or [] if h["connections"] == conc), None)


def target_rows(results: list[dict[str, Any]], server: str) -> list[dict[str, Any]]:
    """Each of issue 19's targets against this run's figures under ``server`` (ratios within
    the run)."""
    by_size = {r["items"]: r for r in results}
    small = next((r for n, r in sorted(by_size.items()) if n <= 20_000), None)
    large = next((r for n, r in sorted(by_size.items()) if n >= 50_000), None)
    rows: list[dict[str, Any]] = []

    def add(what: str, measured: Any, target: str, met: bool | None) -> None:
        rows.append({"server": server, "target": what, "measured": measured, "goal": target,
                     "verdict": "-" if met is None else ("met" if met else "MISSED")})

    if small is not None:
        raw = small["raw_numpy_top10_1blas"]["p50_ms"]
        ratio = small["inprocess_recommend"]["p50_ms"] / raw
        add("recommend() in-process / raw (1 thread), 10k", ratio, "<= 3", ratio <= 3)
        http_ = small["servers"].get(server, {})
        h8 = _http(http_, "http", 8)
        add("10k, c=8: req/s", h8 and h8["rps"], ">= 1600", None if h8 is None else h8["rps"] >= 1600)
        add("10k, c=8: p50 ms", h8 and h8["p50_ms"], "< 4", None if h8 is None else h8["p50_ms"] < 4)
        add("10k, c=8: p99 ms", h8 and h8["p99_ms"], "< 10", None if h8 is None else h8["p99_ms"] < 10)
        c8 = _http(http_, "http_cached", 8)
        add("cached hits, c=8: req/s", c8 and c8["rps"], ">= 3000", None if c8 is None else c8["rps"] >= 3000)
        c1 = _http(http_, "http_cached", 1)
        add("cached hits, c=1: p50 ms", c1 and c1["p50_ms"], "< 1", None if c1 is None else c1["p50_ms"] < 1)
        ctx = _http(http_, "http_context", 1)
        add("contextual, c=1: p50 ms", ctx and ctx["p50_ms"], "< 15", None if ctx is None else ctx["p50_ms"] < 15)
        errors = sum(h["errors"] for part in ("http", "http_cached", "http_context") for h in http_.get(part) or [])
        add("errors under load, 10k", errors, "0", errors == 0 if http_ else None)
    if large is not None:
        h1 = _http(large["servers"].get(server, {}), "http", 1)
        raw = large["raw_numpy_top10_1blas"]["p50_ms"]
        add("100k, c=1: p50 / raw (1 thread)", h1 and h1["p50_ms"] / raw, "<= 1.5",
            None if h1 is None else h1["p50_ms"] / raw <= 1.5)
    return rows


def _row(items: int, what: str, h: dict[str, Any], raw: float | None = None) -> dict[str, Any]:
    return {"items": items, "what": what, "conc": h["connections"], "p50_ms": h["p50_ms"], "p95_ms": h["p95_ms"],
            "p99_ms": h["p99_ms"], "req_s": h["rps"], "errors": h["errors"],
            "x_raw_p50": None if raw is None else h["p50_ms"] / raw,
            "worker_cpu_ms": h.get("worker_cpu_ms_per_req"), "redis_cpu_ms": h.get("redis_cpu_ms_per_req"),
            "cpu_bound_req_s": h.get("cpu_bound_rps_2cores")}


def main() -> None:
    def extra(ap):  # type: ignore[no-untyped-def]  # an argparse hook
        ap.add_argument("--profile", action="store_true", help="py-spy a worker and pyinstrument recommend()")
        ap.add_argument("--blas-threads", type=int, default=None,
                        help="experiment: OPENBLAS_NUM_THREADS for the server and in-process runs")
        ap.add_argument("--sizes", default=None, help="comma-separated catalog sizes")
        ap.add_argument("--servers", default="gunicorn,granian",
                        help="WSGI servers to measure, each as `solace serve --server NAME` (default both)")

    args = parse_args(__doc__, extra)
    quick = args.quick
    servers = tuple(s.strip() for s in args.servers.split(",") if s.strip())
    if args.blas_threads:
        from threadpoolctl import threadpool_limits

        threadpool_limits(args.blas_threads, user_api="blas")
    sizes = [10_000] if quick else [10_000, 100_000]
    if args.sizes:
        sizes = [int(x) for x in args.sizes.split(",")]
    n_users = 50_000 if quick else 1_000_000
    load_start = os.getloadavg()
    print(f"load average at the start: {load_start[0]:.2f} {load_start[1]:.2f} {load_start[2]:.2f}")
    results = []
    for n_items in sizes:
        with bench_env(f"serving{n_items}") as be:
            if args.blas_threads:
                be.extra["OPENBLAS_NUM_THREADS"] = str(args.blas_threads)
            results.append(bench_catalog(be, n_items, n_users, quick, args.profile, args.blas_threads, servers))

    rows = []
    for r in results:
        raw = r["raw_numpy_top10"]["p50_ms"]
        rows.append({"items": r["items"], "what": "raw numpy @ + argpartition top-10 (in-process)",
                     "conc": 1, **{k: r["raw_numpy_top10"][k] for k in ("p50_ms", "p95_ms", "p99_ms")}})
        rows.append({"items": r["items"], "what": "raw numpy, 1 BLAS thread", "conc": 1,
                     **{k: r["raw_numpy_top10_1blas"][k] for k in ("p50_ms", "p95_ms", "p99_ms")}})
        rows.append({"items": r["items"], "what": "raw redis-py pipeline (9 reads)", "conc": 1,
                     **{k: r["raw_redis_pipeline"][k] for k in ("p50_ms", "p95_ms", "p99_ms")}})
        rows.append({"items": r["items"], "what": "Solace recommend() in-process (1 BLAS thread)", "conc": 1,
                     **{k: r["inprocess_recommend"][k] for k in ("p50_ms", "p95_ms", "p99_ms")},
                     "x_raw_p50": r["inprocess_recommend"]["p50_ms"] / raw})
        for server, runs in r["servers"].items():
            rows += [_row(r["items"], f"HTTP, {server} 2x4", h, raw) for h in runs.get("http") or []]
            rows += [_row(r["items"], f"HTTP cached-list hits, {server}", h) for h in runs.get("http_cached") or []]
            rows += [_row(r["items"], f"HTTP contextual (context.text), {server}", h)
                     for h in runs.get("http_context") or []]
    print_table("serving", rows)
    targets = [row for server in servers for row in target_rows(results, server)]
    print_table("issue 19 targets (this run)", targets)
    load_end = os.getloadavg()
    print(f"load average at the end: {load_end[0]:.2f} {load_end[1]:.2f} {load_end[2]:.2f}")
    for r in results:
        for server, runs in r["servers"].items():
            if runs.get("worker_rss_mib"):
                print(f"worker RSS at {r['items']:,} items, {server}: "
                      f"{', '.join(f'{x:.0f} MiB' for x in runs['worker_rss_mib'])}")
            top = runs.get("py_spy_top", [])
            if top:
                print(f"py-spy of one {server} worker at {r['items']:,} items, c=8 (samples holding the GIL):")
            for f, share in [t for t in top if not t[0].startswith("self: ")][:25] + [t for t in top if t[0].startswith("self: ")]:
                print(f"  {share * 100:5.1f}%  {f}")
    emit_json("serving", quick, {"blas_threads": args.blas_threads, "results": results, "targets": targets,
                                 "load_start": load_start, "load_end": load_end})


if __name__ == "__main__":
    main()
