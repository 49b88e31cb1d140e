"""What a running experiment adds to a request (issue 17: at most 10% of the CPU per request).

    .venv/bin/python -m bench.experiments [--quick]

A synthetic deployment (10,000 items, 64 factors) with two model versions: the active one
and a second, written beside it as an experiment's arm. ``recommend()`` runs in-process for
random users in alternating blocks: with no experiment, then with a 50/50 experiment
between the two versions (started through ``serving.experiments``, so half the users are
served the second version, with assignment, the arm's model and the tagged id). Cached
lists are off, so every request does the whole work. CPU time per request
(``time.process_time``) and wall time are compared in the same run.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from bench.common import FACTORS, TENANT, bench_env, emit_json, parse_args, percentiles, print_table, say
from bench.deploy import deploy_synthetic, user_id


def main() -> None:
    args = parse_args(__doc__)
    n_items, n_users = 10_000, (5_000 if args.quick else 20_000)
    blocks, per_block = (4, 100) if args.quick else (10, 200)
    from threadpoolctl import threadpool_limits

    from serving.app import create_app
    from serving.experiments import ExperimentService
    from serving.publish import publish_version
    from serving.recommend import RecRequest, recommend
    from storage.db import get_engine, upgrade_schema
    from storage.experiments import ArmSpec
    from storage.keyspace import Keyspace
    from storage.registry import ModelRegistry

    with bench_env("experiments") as be, threadpool_limits(limits=1, user_api="blas"):
        dep = deploy_synthetic(be, n_items, n_users)
        settings = be.settings(cache_ttl_seconds=0)
        engine = get_engine(settings.sql_url)
        upgrade_schema(engine)
        registry = ModelRegistry(be.home / "models")
        rng = np.random.default_rng(5)
        second = registry.save(
            "als", {"factors": FACTORS, "synthetic": True},
            {"item_vectors": (rng.standard_normal(dep.item_matrix.shape) / np.sqrt(FACTORS)).astype(np.float32),
             "user_vectors": dep.user_vectors, "popularity": np.ones(len(dep.item_ids), np.float32)},
            {"users": [f"{TENANT}:{user_id(i)}" for i in range(n_users)], "items": dep.item_ids}, {}, "synthetic")
        client, keys = be.redis(), Keyspace(be.prefix)
        active = client.get(keys.active_model).decode()
        service = ExperimentService(engine, client, keys, registry)
        service.create(TENANT, "bench", [ArmSpec("control", active, 1.0), ArmSpec("second", second.version, 1.0)])
        service.start(TENANT, "bench")
        plan = client.get(keys.tenant_experiment(TENANT))
        assert plan is not None
        del publish_version  # the arm's version was written by start, as in production

        app = create_app(settings)
        st = app.extensions["solace"]
        users = [user_id(int(u)) for u in rng.integers(0, n_users, size=blocks * per_block * 2)]
        with app.app_context():
            recommend(st, RecRequest(tenant=TENANT, user_id=users[0], k=10))
            samples: dict[str, dict[str, list[float]]] = {m: {"cpu": [], "wall": []} for m in ("off", "on")}
            arms_seen: dict[str, int] = {}
            n = 0
            for block in range(blocks * 2):
                mode = "on" if block % 2 else "off"
                if mode == "on":
                    client.set(keys.tenant_experiment(TENANT), plan)
                else:
                    client.delete(keys.tenant_experiment(TENANT))
                for _ in range(per_block):
                    u = users[n]
                    n += 1
                    c, w = time.process_time(), time.perf_counter()
                    body = recommend(st, RecRequest(tenant=TENANT, user_id=u, k=10))
                    samples[mode]["cpu"].append(time.process_time() - c)
                    samples[mode]["wall"].append(time.perf_counter() - w)
                    if mode == "on":
                        arm = b'"arm": "second"' in body
                        arms_seen["second" if arm else "control"] = arms_seen.get("second" if arm else "control", 0) + 1
        say(f"arms served while on: {arms_seen}")
    off_cpu, on_cpu = float(np.mean(samples["off"]["cpu"])), float(np.mean(samples["on"]["cpu"]))
    res: dict[str, Any] = {
        "items": n_items, "users": n_users, "requests_per_mode": blocks * per_block,
        "off_cpu_ms_mean": off_cpu * 1e3, "on_cpu_ms_mean": on_cpu * 1e3,
        "cpu_overhead": on_cpu / off_cpu - 1.0, "target_overhead_at_most": 0.10,
        "off_wall": percentiles(samples["off"]["wall"]), "on_wall": percentiles(samples["on"]["wall"]),
        "arms_served": arms_seen,
    }
    print_table(f"recommend() with and without a running experiment ({n_items:,} items, alternating blocks)", [
        {"what": "no experiment", "cpu_ms_mean": round(off_cpu * 1e3, 3), **res["off_wall"]},
        {"what": "50/50 experiment, two versions", "cpu_ms_mean": round(on_cpu * 1e3, 3), **res["on_wall"]},
    ])
    print(f"CPU per request: {res['cpu_overhead']:+.1%} with the experiment (target: at most +10%)")
    emit_json("experiments", args.quick, res)


if __name__ == "__main__":
    main()
