"""Analytics at volume: 10 million outcome events into the rollups, then `solace analytics
resources` (issue 17: under 1 s on this 2-core machine).

    .venv/bin/python -m bench.analytics [--quick] [--events N]

Events go through the rollup step of ingestion (``storage.outcomes.add_to_rollups``, the
code ``EventStore.add_batch`` runs in its transaction) in batches of 10,000, spread over
2,000 resources, 5 tenants and 365 days; the event rows themselves are not written (their
cost is ``bench.ingestion``'s). Then the answer is timed three ways: the query the CLI and
the API run (``analytics.report.resource_figures``) in-process, the whole
``solace analytics resources --format json`` command (Python start-up included), and a
raw ``SELECT ... GROUP BY`` of the same sums, the floor.
"""

from __future__ import annotations

import subprocess
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from bench.common import PYTHON, bench_env, emit_json, parse_args, percentiles, print_table, say

BATCH = 10_000
TYPES = np.array(["impression"] * 60 + ["click"] * 15 + ["start"] * 10 + ["complete"] * 7 + ["helpful"] * 4
                 + ["not_helpful"] * 2 + ["dismiss"] * 1 + ["content_report"] * 1)


def main() -> None:
    args = parse_args(__doc__, lambda ap: ap.add_argument("--events", type=int, default=None))
    n_events = args.events or (200_000 if args.quick else 10_000_000)
    from sqlalchemy import text

    from analytics.report import resource_figures
    from core.events import Event
    from storage.db import get_engine, upgrade_schema
    from storage.outcomes import add_to_rollups

    with bench_env("analytics") as be:
        settings = be.settings()
        settings.ensure_home()
        engine = get_engine(settings.sql_url)
        upgrade_schema(engine)
        rng = np.random.default_rng(0)
        resources = [f"res-{n:05d}" for n in range(2000)]
        tenants = [f"tenant-{n}" for n in range(5)]
        start = datetime.now(UTC) - timedelta(days=365)
        t0 = time.perf_counter()
        done = 0
        while done < n_events:
            size = min(BATCH, n_events - done)
            rows = rng.integers(0, len(resources), size)
            days = rng.integers(0, 365, size)
            kinds = TYPES[rng.integers(0, len(TYPES), size)]
            tenant = tenants[(done // BATCH) % len(tenants)]
            batch = [Event("", "", resources[r], str(k), start + timedelta(days=int(d)))
                     for r, d, k in zip(rows, days, kinds)]
            with engine.begin() as conn:
                add_to_rollups(conn, tenant, batch)
            done += size
            if done % 1_000_000 == 0:
                say(f"{done:,} events in {time.perf_counter() - t0:.0f} s")
        ingest_s = time.perf_counter() - t0
        with engine.connect() as conn:
            rollup_rows = conn.execute(text("SELECT count(*) FROM outcome_rollups")).scalar_one()
        say(f"{n_events:,} events -> {rollup_rows:,} rollup rows in {ingest_s:.0f} s")

        in_process, raw, cli = [], [], []
        for _ in range(5):
            t = time.perf_counter()
            figures = resource_figures(engine)
            in_process.append(time.perf_counter() - t)
            t = time.perf_counter()
            with engine.connect() as conn:
                conn.execute(text("SELECT resource_id, sum(impressions), sum(clicks), sum(starts), sum(completions), "
                                  "sum(helpful), sum(not_helpful), sum(dismissals), sum(content_reports), "
                                  "sum(distress) FROM outcome_rollups GROUP BY resource_id")).all()
            raw.append(time.perf_counter() - t)
        assert len(figures) == len(resources)
        assert sum(f.counts.impressions for f in figures) > 0
        for _ in range(3):
            t = time.perf_counter()
            out = subprocess.run([PYTHON, "-m", "solace.cli", "analytics", "resources", "--format", "json"],
                                 env=be.env(), capture_output=True, text=True, check=True)
            cli.append(time.perf_counter() - t)
        assert '"resources"' in out.stdout
    res: dict[str, Any] = {
        "events": n_events, "rollup_rows": rollup_rows, "ingest_seconds": ingest_s,
        "ingest_events_per_s": n_events / ingest_s,
        "resource_figures": percentiles(in_process), "raw_group_by": percentiles(raw), "cli_command": percentiles(cli),
        "target_cli_under_1s": max(cli) < 1.0,
    }
    print_table(f"analytics over {n_events:,} events ({rollup_rows:,} rollup rows, ingested at "
                f"{res['ingest_events_per_s']:,.0f} events/s)", [
        {"what": "resource_figures() in-process (the CLI's and API's query)", **res["resource_figures"]},
        {"what": "raw SELECT ... GROUP BY (floor)", **res["raw_group_by"]},
        {"what": "`solace analytics resources --format json` (whole command)", **res["cli_command"]},
    ])
    emit_json("analytics", args.quick, res)


if __name__ == "__main__":
    main()
