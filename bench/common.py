"""Shared helpers of the benchmarks: arguments, output, timing statistics and the
benchmark's own environment (a synthetic deployment is ``bench.deploy``, the server under
test and wrk runs ``bench.server``).

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
import sys
import tempfile
import time
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
