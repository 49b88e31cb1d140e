"""Every benchmark, one after the other, each in its own process.

    .venv/bin/python -m bench.run_all [--quick] [--only serving,memory,...]

Prints each benchmark's output as it comes and, at the end, one JSON line holding every
benchmark's final JSON line (or its failure). Exits non-zero if any benchmark failed.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

BENCHES = ("serving", "freshness", "memory", "training", "embedding", "ingestion", "foldin", "reference_check")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", default=",".join(BENCHES))
    args = ap.parse_args()
    results: dict[str, object] = {}
    failed = False
    for name in [b for b in args.only.split(",") if b]:
        if name not in BENCHES:
            raise SystemExit(f"unknown benchmark {name!r}; choose from {', '.join(BENCHES)}")
        cmd = [sys.executable, "-m", f"bench.{name}"] + (["--quick"] if args.quick else [])
        print(f"\n# {' '.join(cmd[1:])}", flush=True)
        t = time.perf_counter()
        p = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, timeout=3600)
        sys.stdout.write(p.stdout)
        last = p.stdout.strip().splitlines()[-1] if p.stdout.strip() else ""
        try:
            results[name] = json.loads(last)
        except json.JSONDecodeError:
            results[name] = {"error": f"exit {p.returncode}, no JSON line"}
            failed = True
        if p.returncode != 0:
            results[name] = {"error": f"exit {p.returncode}"}
            failed = True
        print(f"# {name}: {time.perf_counter() - t:.0f} s, exit {p.returncode}", flush=True)
    print(json.dumps({"bench": "all", "quick": args.quick, "results": results}))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
