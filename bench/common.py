"""Shared helpers of the benchmarks: a synthetic deployment without the training pipeline,
a gunicorn server under test, wrk runs, timing statistics and output.

Everything a benchmark writes to Redis lives under its own prefix (``solbench-<pid>``) in
its own database index (``redis://127.0.0.1:6379/5`` unless ``SOLACE_BENCH_REDIS_URL`` says
otherwise) and is deleted at the end; SQL and the model registry live in a temporary
``SOLACE_HOME``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/5"
TENANT = "bench"
FACTORS = 64
EMBED_DIM = 384
TOPICS = (
    "anxiety", "depression", "stress", "sleep", "loneliness", "self-esteem", "body-image",
    "social-comparison", "cyberbullying", "digital-wellbeing", "relationships", "family",
    "grief", "anger", "mindfulness", "resilience", "workplace", "self-harm",
)
WORDS = (
    "breathe slowly notice your thoughts write down one small step sleep routine evening "
    "screen time friends message kindness worry window grounding five things you can see "
    "compare yourself online feed scroll pause body tension relax shoulders journal gratitude "
    "lonely reach out group weekly session listen share support anxious heart racing panic "
    "calm counting exhale longer than inhale values walk outside morning light mood low energy "
    "plan activity reward challenge unhelpful thought evidence for against balanced view"
).split()


# --------------------------------------------------------------------------- cli and output
def parse_args(description: str, extra: Any = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--quick", action="store_true", help="small sizes, under a minute (CI smoke)")
    if extra is not None:
        extra(ap)
    return ap.parse_args()


def movielens_dir() -> Path | None:
    """``$SOLACE_SHARED/data/ml-100k`` (default ``/work/shared``) when it holds the ua split,
    else None after saying why the benchmark skips it (the data is never in the repository)."""
    directory = Path(os.environ.get("SOLACE_SHARED", "/work/shared")) / "data" / "ml-100k"
    if not (directory / "ua.base").is_file():
        say(f"MovieLens 100K not found at {directory}: skipped (set SOLACE_SHARED)")
        return None
    return directory


def say(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def print_table(title: str, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    cols: list[str] = []
    for r in rows:
        cols += [c for c in r if c not in cols]
    def fmt(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:.3f}" if abs(v) < 1000 else f"{v:,.0f}"
        if v is None:
            return "-"
        return str(v)
    cells = [[fmt(r.get(c)) for c in cols] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(cols)]
    print(f"\n## {title}")
    print("  ".join(c.ljust(w) for c, w in zip(cols, widths)))
    print("  ".join("-" * w for w in widths))
    for row in cells:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths)))


def emit_json(name: str, quick: bool, figures: dict[str, Any]) -> None:
    """The one final JSON line of a benchmark (last line on stdout)."""
    print(json.dumps({"bench": name, "quick": quick, "machine": machine(), **figures},
                     default=_json_default), flush=True)


def _json_default(v: Any) -> Any:
    if isinstance(v, (np.floating, np.integer)):
        return v.item()
    return str(v)


def machine() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = 0
    try:
        mem = int(Path("/proc/meminfo").read_text().split()[1]) // 1024
    except (OSError, ValueError, IndexError):
        pass
    # the machine is shared: the load average says how quiet it was
    return {"cpus": os.cpu_count(), "cpu": model, "mem_mib": mem,
            "loadavg": [round(x, 2) for x in os.getloadavg()]}


def percentiles(samples_s: list[float] | np.ndarray) -> dict[str, float]:
    """p50/p95/p99 and mean in milliseconds."""
    a = np.asarray(samples_s, dtype=np.float64) * 1000.0
    if a.size == 0:
        return {"n": 0}
    return {
        "n": int(a.size), "p50_ms": float(np.percentile(a, 50)), "p95_ms": float(np.percentile(a, 95)),
        "p99_ms": float(np.percentile(a, 99)), "mean_ms": float(a.mean()),
    }


def ratio(a: float | None, b: float | None) -> float | None:
    return None if not a or not b else a / b


# --------------------------------------------------------------------------- configuration
@dataclass
class BenchEnv:
    """A private Solace configuration: temp home, own Redis prefix and database index."""

    home: Path
    prefix: str
    redis_url: str
    extra: dict[str, str] = field(default_factory=dict)

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update({
            "SOLACE_HOME": str(self.home),
            "SOLACE_REDIS_URL": self.redis_url,
            "SOLACE_REDIS_PREFIX": self.prefix,
            # a benchmark must measure serving, not the per-key rate limit (1200/minute)
            "SOLACE_RATE_LIMIT": "100000000/minute",
            "SOLACE_LOG_LEVEL": "WARNING",
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "TOKENIZERS_PARALLELISM": "false",
        })
        env.pop("SOLACE_DATABASE_URL", None)
        env.update(self.extra)
        return env

    def settings(self, **overrides: Any):  # type: ignore[no-untyped-def]  # returns Settings, imported lazily
        from core.config import Settings

        values: dict[str, Any] = {
            "home": self.home, "redis_url": self.redis_url, "redis_prefix": self.prefix,
            "rate_limit": "100000000/minute", "log_level": "WARNING", "database_url": None,
        }
        values.update(overrides)
        return Settings(_env_file=None, **values)  # type: ignore[call-arg]  # pydantic-settings' own init argument

    def redis(self):  # type: ignore[no-untyped-def]  # returns a redis client, imported lazily
        import redis

        return redis.Redis.from_url(self.redis_url, socket_timeout=60)


@contextmanager
def bench_env(name: str, keep_home: bool = False) -> Iterator[BenchEnv]:
    """Temp home + private Redis prefix; every key under the prefix is deleted afterwards."""
    redis_url = os.environ.get("SOLACE_BENCH_REDIS_URL", DEFAULT_REDIS_URL)
    home = Path(tempfile.mkdtemp(prefix=f"solace-bench-{name}-"))
    be = BenchEnv(home=home, prefix=f"solbench-{name}-{os.getpid()}", redis_url=redis_url)
    client = be.redis()
    try:
        client.ping()
    except Exception as exc:  # noqa: BLE001
        shutil.rmtree(home, ignore_errors=True)
        raise SystemExit(f"Redis at {redis_url} is unreachable ({exc}); start it or set SOLACE_BENCH_REDIS_URL")
    try:
        yield be
    finally:
        n = delete_keys(client, be.prefix)
        say(f"deleted {n} Redis keys under {be.prefix}")
        if not keep_home:
            shutil.rmtree(home, ignore_errors=True)


def delete_keys(client: Any, prefix: str) -> int:
    n = 0
    # Flask-Limiter's keys carry the prefix inside ("LIMITS:LIMITER/<prefix>:rl/...").
    for pattern in (f"{prefix}:*", f"*{prefix}*"):
        batch = []
        for key in client.scan_iter(match=pattern, count=5000):
            batch.append(key)
            if len(batch) >= 1000:
                n += client.unlink(*batch)
                batch = []
        if batch:
            n += client.unlink(*batch)
    return n


# --------------------------------------------------------------------------- synthetic data
_POOL: dict[int, list[str]] = {}


def _text(rng: np.random.Generator, n_words: int) -> str:
    """A pseudo-sentence of ``n_words`` words, drawn from a pool of 4,096 per length."""
    pool = _POOL.get(n_words)
    if pool is None:
        prng = np.random.default_rng(n_words)
        idx = prng.integers(0, len(WORDS), size=(4096, n_words))
        pool = _POOL[n_words] = [" ".join(WORDS[j] for j in row).capitalize() + "." for row in idx]
    return pool[int(rng.integers(0, 4096))]


def synthetic_records(n: int, seed: int = 7, with_crisis: bool = True) -> list[dict[str, Any]]:
    """Resource records (full, as an import file would hold them), all approved."""
    rng = np.random.default_rng(seed)
    types = rng.choice(["article", "exercise", "group"], size=n, p=[0.6, 0.3, 0.1])
    locales = rng.choice(["en", "en", "en", "es", "de", "fr"], size=n)
    out: list[dict[str, Any]] = []
    for i in range(n):
        k = int(rng.integers(1, 4))
        topics = list(rng.choice(TOPICS, size=k, replace=False))
        rec: dict[str, Any] = {
            "id": f"item-{i:07d}", "type": str(types[i]),
            "title": f"Synthetic resource {i}: {_text(rng, 4)}",
            "summary": _text(rng, 20), "topics": [str(t) for t in topics],
            "tags": ["synthetic", f"tag-{int(rng.integers(0, 50))}"],
            "locales": [str(locales[i])], "format": "text",
            "duration_minutes": int(rng.integers(2, 30)), "reading_level": "standard",
            "content_warnings": ["self-harm"] if "self-harm" in topics else [],
            "audience": "adult" if rng.random() < 0.05 else "all",
            "status": "approved", "reviewed_by": "bench-review",
            "reviewed_at": "2026-01-01T00:00:00Z",
        }
        if rec["type"] == "article":
            rec["body"] = " ".join(_text(rng, 15) for _ in range(6))
        elif rec["type"] == "exercise":
            rec["steps"] = [_text(rng, 10) for _ in range(4)]
        else:
            rec["group"] = {
                "facilitator_credential": "Trained peer facilitator", "modality": "online",
                "schedule": {"timezone": "Europe/London",
                             "weekly": [{"weekday": "tue", "start": "19:00:00"}],
                             "session_minutes": 60},
                "capacity": int(rng.integers(5, 30)),
            }
        out.append(rec)
    if with_crisis:
        for j, country in enumerate(("US", "GB", "INTL")):
            out.append({
                "id": f"crisis-bench-{j}", "type": "article", "title": f"Crisis line {country}",
                "summary": "Call or text any time to reach a trained counsellor.",
                "body": "Free, confidential, 24/7 support.", "topics": ["suicide-prevention"],
                "locales": ["en"], "duration_minutes": 1, "status": "approved",
                "reviewed_by": "bench-review", "is_crisis_resource": True, "country": country,
                "contact": {"name": f"Crisis line {country}", "phone": "988",
                            "checked_on": "2026-01-01"},
            })
    return out


def synthetic_resources(n: int, seed: int = 7) -> list[Any]:
    from content_catalog.schema import Resource

    return [Resource.model_validate(r) for r in synthetic_records(n, seed)]


def synthetic_cards(n: int, seed: int = 7) -> dict[str, str]:
    """Serving cards (JSON) exactly as ``publish_catalog`` writes them.

    Validating every record through pydantic costs ~0.1 ms each; 100,000 cards reuse the
    validated shape of a sample and vary ids, titles and topics.
    """
    from content_catalog.publish import resource_card
    from content_catalog.schema import Resource

    records = synthetic_records(n, seed)
    cards: dict[str, str] = {}
    checked = 0
    for rec in records:
        if checked < 500 or rec.get("is_crisis_resource"):
            card = resource_card(Resource.model_validate(rec))
            checked += 1
        else:
            card = {k: v for k, v in rec.items() if k not in ("body", "steps")}
            card["reviewed_at"] = "2026-01-01T00:00:00Z"
            card.setdefault("is_crisis_resource", False)
            if "group" in card:
                card["group"] = {**card["group"], "cost": "free"}
        cards[rec["id"]] = json.dumps(card)
    return cards


@dataclass
class Deployment:
    version: str
    item_ids: list[str]
    n_users: int
    item_matrix: np.ndarray
    user_vectors: np.ndarray
    timings: dict[str, float]
    user_hash_key: str


def user_id(i: int) -> str:
    return f"u{i:07d}"


def deploy_synthetic(
    be: BenchEnv, n_items: int, n_users: int, seed: int = 11, embeddings: bool = True,
    bulk_users: bool = False,
) -> Deployment:
    """Catalog cards + random 64-factor model published to Redis, through Solace's own code.

    ``ModelRegistry.save`` and ``serving.publish.publish_version`` write the model exactly
    as ``solace publish`` would; the catalog snapshot is written in ``publish_catalog``'s
    layout (cards hash, embeddings hash, version bump) without the SQL store.
    ``bulk_users`` skips publish_version's per-user loop and writes the same hash with
    pipelined HSETs (used only to save time when the publish path itself is not measured).
    """
    from serving.publish import publish_version
    from storage.keyspace import Keyspace
    from storage.registry import ModelRegistry

    timings: dict[str, float] = {}
    rng = np.random.default_rng(seed)
    keys = Keyspace(be.prefix)
    client = be.redis()

    t = time.perf_counter()
    cards = synthetic_cards(n_items, seed)
    item_ids = list(cards)
    timings["cards_s"] = time.perf_counter() - t

    n = len(item_ids)
    items = (rng.standard_normal((n, FACTORS)) / np.sqrt(FACTORS)).astype(np.float32)
    users = (rng.standard_normal((n_users, FACTORS))).astype(np.float32)
    emb = None
    if embeddings:
        emb = rng.standard_normal((n, EMBED_DIM)).astype(np.float32)
        emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    popularity = np.log1p(rng.zipf(1.5, size=n).clip(max=10_000)).astype(np.float32)

    t = time.perf_counter()
    registry = ModelRegistry(be.home / "models")
    user_keys = [f"{TENANT}:{user_id(i)}" for i in range(n_users)]
    arrays = {"item_vectors": items, "user_vectors": users if not bulk_users else users[:1],
              "item_embeddings": emb, "popularity": popularity}
    mv = registry.save("als", {"factors": FACTORS, "synthetic": True}, arrays,
                       {"users": user_keys if not bulk_users else user_keys[:1], "items": item_ids},
                       {}, "synthetic")
    timings["registry_save_s"] = time.perf_counter() - t

    t = time.perf_counter()
    publish_version(mv, client, keys)
    timings["publish_version_s"] = time.perf_counter() - t
    uv_key = keys.user_vectors(TENANT, mv.version)
    if bulk_users:
        t = time.perf_counter()
        bulk_write_user_vectors(client, uv_key, users)
        timings["bulk_user_vectors_s"] = time.perf_counter() - t

    t = time.perf_counter()
    pipe = client.pipeline(transaction=False)
    staging_items, staging_emb = keys.catalog_items + ":staging", keys.catalog_embeddings + ":staging"
    pipe.delete(staging_items, staging_emb)
    pairs = list(cards.items())
    for s in range(0, len(pairs), 5000):
        pipe.hset(staging_items, mapping=dict(pairs[s:s + 5000]))
    if emb is not None:
        for s in range(0, n, 5000):
            pipe.hset(staging_emb, mapping={item_ids[r]: emb[r].tobytes() for r in range(s, min(n, s + 5000))})
    pipe.execute()
    pipe = client.pipeline(transaction=True)
    pipe.rename(staging_items, keys.catalog_items)
    if emb is not None:
        pipe.rename(staging_emb, keys.catalog_embeddings)
    pipe.incr(keys.catalog_version)
    pipe.execute()
    timings["publish_catalog_s"] = time.perf_counter() - t
    return Deployment(mv.version, item_ids, n_users, items, users, timings, uv_key)


def bulk_write_user_vectors(client: Any, name: str, users: np.ndarray, chunk: int = 2000) -> None:
    """The same hash publish_version writes (``storage.snapshot``'s user-vector layout)."""
    from storage.snapshot import vector_bytes, write_user_vectors

    write_user_vectors(client, name, ((user_id(i), vector_bytes(users[i])) for i in range(users.shape[0])), chunk)


def create_api_key(be: BenchEnv) -> str:
    from storage.api_keys import KeyStore, Role
    from storage.db import get_engine

    be.home.mkdir(parents=True, exist_ok=True)
    engine = get_engine(be.settings().sql_url)
    _key, secret = KeyStore(engine).create(TENANT, Role.PLATFORM)
    return secret


# --------------------------------------------------------------------------- the server
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """``solace serve`` (gunicorn) as a subprocess, stopped by its own process group."""

    def __init__(self, be: BenchEnv, workers: int = 2, threads: int = 1) -> None:
        self.be = be
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(be.home / f"serve-{self.port}.log", "wb")
        solace = Path(PYTHON).with_name("solace")
        cmd = [str(solace) if solace.exists() else PYTHON, *([] if solace.exists() else ["-m", "solace.cli"]),
               "serve", "--port", str(self.port), "--workers", str(workers), "--threads", str(threads)]
        self.proc = subprocess.Popen(cmd, env=be.env(), cwd=str(be.home), stdout=self.log,
                                     stderr=subprocess.STDOUT, start_new_session=True)

    def wait_ready(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"solace serve exited: see {self.log.name}")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise TimeoutError("solace serve did not become healthy")

    def worker_pids(self) -> list[int]:
        import psutil

        return [c.pid for c in psutil.Process(self.proc.pid).children(recursive=False)]

    def worker_rss_mib(self) -> list[float]:
        import psutil

        out = []
        for pid in self.worker_pids():
            try:
                out.append(psutil.Process(pid).memory_info().rss / 2**20)
            except psutil.Error:
                pass
        return out

    def worker_cpu_s(self) -> float:
        """User + system CPU seconds used so far by the workers (robust to a busy machine)."""
        import psutil

        total = 0.0
        for pid in self.worker_pids():
            try:
                t = psutil.Process(pid).cpu_times()
                total += t.user + t.system
            except psutil.Error:
                pass
        return total

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=20)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        self.log.close()

    def __enter__(self) -> "Server":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def http(url: str, key: str, method: str = "GET", body: Any = None, timeout: float = 30) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers={
        "Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


# --------------------------------------------------------------------------- wrk
WRK_LUA = r"""
-- generated by bench/common.py
local key = os.getenv("BENCH_KEY")
local mode = os.getenv("BENCH_MODE")            -- "recs" or "events"
local n_users = tonumber(os.getenv("BENCH_USERS"))
local n_items = tonumber(os.getenv("BENCH_ITEMS") or "1")
local max_requests = tonumber(os.getenv("BENCH_MAX_REQUESTS"))
local batch = tonumber(os.getenv("BENCH_BATCH") or "100")
local threads = {}
local counter = 0
local started = os.time()
next_tid = 0   -- global: thread:set() writes globals of each thread's own Lua state

function setup(thread)
  next_tid = next_tid + 1
  thread:set("tid", next_tid)
  table.insert(threads, thread)
end

function init(args)
  math.randomseed(tid * 7919 + os.time())
  wrk.headers["Authorization"] = "Bearer " .. key
  wrk.headers["Content-Type"] = "application/json"
  responses = 0
  bad = 0
  accepted = 0
end

function request()
  counter = counter + 1
  if mode == "events" then
    local parts = {}
    for i = 1, batch do
      local u = math.random(0, n_users - 1)
      local it = math.random(0, n_items - 1)
      parts[i] = string.format(
        '{"event_id":"ev-%d-%d-%d-%d","user_id":"u%07d","resource_id":"item-%07d","type":"click","timestamp":"2026-01-01T00:00:00Z"}',
        tid, started, counter, i, u, it)
    end
    return wrk.format("POST", "/v1/events", nil, '{"events":[' .. table.concat(parts, ",") .. ']}')
  end
  local u = math.random(0, n_users - 1)
  return wrk.format("GET", string.format("/v1/users/u%07d/recommendations?k=10", u))
end

function response(status, headers, body)
  responses = responses + 1
  if status >= 300 then bad = bad + 1 end
  if mode == "events" then
    local a = string.match(body, '"accepted":%s*(%d+)')
    if a then accepted = accepted + tonumber(a) end
  end
  if responses >= max_requests then wrk.thread:stop() end
end

function done(summary, latency, requests)
  local bad_total = 0
  local accepted_total = 0
  for _, t in ipairs(threads) do
    bad_total = bad_total + (t:get("bad") or 0)
    accepted_total = accepted_total + (t:get("accepted") or 0)
  end
  io.write(string.format(
    'WRKJSON {"accepted":%d,"requests":%d,"duration_us":%d,"connect_errors":%d,"read_errors":%d,"timeouts":%d,"non2xx":%d,"p50_us":%d,"p95_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f}\n',
    accepted_total, summary.requests, summary.duration, summary.errors.connect, summary.errors.read,
    summary.errors.timeout, bad_total, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), latency.max, latency.mean))
end
"""


def redis_cpu_s(client: Any) -> float:
    info = client.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def run_wrk_cpu(server: "Server", client: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """``run_wrk`` plus CPU milliseconds per request spent by the workers and by Redis.

    On a shared, busy machine wall-clock latency mostly measures the neighbours; CPU per
    request does not, and ``2 cores / CPU per request`` bounds the throughput 2 free cores
    would give (wrk's own CPU left out)."""
    w0, r0 = server.worker_cpu_s(), redis_cpu_s(client)
    res = run_wrk(*args, **kwargs)
    w1, r1 = server.worker_cpu_s(), redis_cpu_s(client)
    n = max(1, res["requests"])
    res["worker_cpu_ms_per_req"] = (w1 - w0) * 1000 / n
    res["redis_cpu_ms_per_req"] = (r1 - r0) * 1000 / n
    res["cpu_bound_rps_2cores"] = 2000 / max(1e-9, res["worker_cpu_ms_per_req"] + res["redis_cpu_ms_per_req"])
    return res


def have_wrk() -> bool:
    return shutil.which("wrk") is not None


def run_wrk(
    url: str, key: str, connections: int, seconds: float, max_requests: int, n_users: int,
    mode: str = "recs", n_items: int = 1, batch: int = 100, workdir: Path | None = None,
) -> dict[str, Any]:
    """One wrk run, bounded by time (-d) and by request count (per wrk thread, in Lua)."""
    threads = min(2, connections)
    lua = (workdir or Path(tempfile.gettempdir())) / "solace-bench.lua"
    lua.write_text(WRK_LUA)
    env = dict(os.environ, BENCH_KEY=key, BENCH_MODE=mode, BENCH_USERS=str(n_users),
               BENCH_ITEMS=str(n_items), BENCH_BATCH=str(batch),
               BENCH_MAX_REQUESTS=str(max(1, max_requests // threads)))
    cmd = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{max(1, int(seconds))}s",
           "--timeout", "10s", "-s", str(lua), url]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=seconds + 60)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("WRKJSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk failed: {out.stdout}\n{out.stderr}")
    r = json.loads(line[len("WRKJSON "):])
    dur = r["duration_us"] / 1e6
    return {
        "connections": connections, "requests": r["requests"],
        "errors": r["connect_errors"] + r["read_errors"] + r["timeouts"] + r["non2xx"],
        "rps": r["requests"] / dur if dur else 0.0,
        "p50_ms": r["p50_us"] / 1000, "p95_ms": r["p95_us"] / 1000, "p99_ms": r["p99_us"] / 1000,
        "max_ms": r["max_us"] / 1000, "seconds": dur, "accepted": r["accepted"],
    }
