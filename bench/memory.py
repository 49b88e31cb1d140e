"""Memory: Redis bytes per user vector (``MEMORY USAGE`` summed over the version's
user-vector buckets, and the ``INFO memory`` delta) at 1,000,000 users x 64 factors, the
time of Solace's publish path for them next to a raw pipelined HSET of the same vectors
into one plain hash, and gunicorn worker RSS at 100,000 items.

    .venv/bin/python -m bench.memory [--quick]

The Redis server is shared: the ``INFO memory`` delta includes whatever others wrote
meanwhile; ``MEMORY USAGE ... SAMPLES 0`` counts only our keys.
"""

from __future__ import annotations

import time
from typing import Any

from bench.common import FACTORS, bench_env, emit_json, parse_args, print_table, say
from bench.deploy import TENANT, create_api_key, deploy_synthetic, user_id
from bench.server import Server, http


def used_memory(client: Any) -> int:
    return int(client.info("memory")["used_memory"])


def memory_of(client: Any, names: list[str]) -> tuple[int, int]:
    """``MEMORY USAGE ... SAMPLES 0`` summed over the keys that exist, and their fields."""
    total = fields = 0
    for start in range(0, len(names), 2048):
        pipe = client.pipeline(transaction=False)
        for name in names[start:start + 2048]:
            pipe.memory_usage(name, samples=0)
            pipe.hlen(name)
        answers = pipe.execute()
        total += sum(int(a or 0) for a in answers[0::2])
        fields += sum(int(a) for a in answers[1::2])
    return total, fields


def main() -> None:
    args = parse_args(__doc__)
    quick = args.quick
    n_users = 100_000 if quick else 1_000_000
    n_items = 10_000 if quick else 100_000
    res: dict[str, Any] = {"users": n_users, "items": n_items, "factors": FACTORS}
    with bench_env("memory") as be:
        client = be.redis()
        before = used_memory(client)
        dep = deploy_synthetic(be, n_items, n_users)
        after = used_memory(client)
        res["deploy"] = dep.timings
        res["publish_version_s"] = dep.timings["publish_version_s"]
        t = time.perf_counter()
        usage, stored = memory_of(client, dep.vector_buckets)
        res["memory_usage_s"] = time.perf_counter() - t
        assert stored == n_users, stored
        res["memory_usage_bytes"] = usage
        res["bytes_per_user_memory_usage"] = usage / n_users
        # INFO delta: our whole deployment minus the item-side keys (measured one by one)
        buckets = set(dep.vector_buckets)
        item_side = sum(int(client.memory_usage(k, samples=0) or 0)
                        for k in client.scan_iter(match=f"{be.prefix}:*", count=1000)
                        if k.decode() not in buckets)
        res["info_used_memory_delta"] = after - before
        res["bytes_per_user_info_delta"] = (after - before - item_side) / n_users
        res["raw_value_bytes"] = FACTORS * 4
        # the raw library: the same vectors in one plain hash, pipelined HSETs of 2,000 fields
        raw_key = be.prefix + ":rawuv"
        t = time.perf_counter()
        pipe = client.pipeline(transaction=False)
        for start in range(0, n_users, 2000):
            pipe.hset(raw_key, mapping={f"{TENANT}:{user_id(i)}": dep.user_vectors[i].tobytes()
                                        for i in range(start, min(n_users, start + 2000))})
        pipe.execute()
        res["raw_pipelined_hset_s"] = time.perf_counter() - t
        res["raw_memory_usage_bytes"] = int(client.memory_usage(raw_key, samples=0))
        client.unlink(raw_key)
        say(f"redis: {res['bytes_per_user_memory_usage']:.1f} B/user (MEMORY USAGE), "
            f"{res['bytes_per_user_info_delta']:.1f} B/user (INFO delta)")

        key = create_api_key(be)
        with Server(be, workers=2) as srv:
            srv.wait_ready()
            res["worker_rss_idle_mib"] = srv.worker_rss_mib()
            # concurrent first requests, so that both workers load the model
            from concurrent.futures import ThreadPoolExecutor

            t = time.perf_counter()
            with ThreadPoolExecutor(4) as pool:
                list(pool.map(lambda i: http(srv.url + f"/v1/users/{user_id(i)}/recommendations?k=10",
                                             key, timeout=300), range(8)))
            res["first_requests_s"] = time.perf_counter() - t
            for i in range(20):
                http(srv.url + f"/v1/users/{user_id(i)}/recommendations?k=10", key)
            res["worker_rss_loaded_mib"] = srv.worker_rss_mib()
        # where a worker's memory goes (array sizes of what ServingCache holds)
        n = len(dep.item_ids)
        res["worker_arrays_mib"] = {
            "item_matrix": n * FACTORS * 4 / 2**20,
            "model_embeddings_unit_rows": n * 384 * 4 / 2**20,
            "catalog_embeddings_dict": n * 384 * 4 / 2**20,
        }
    rows = [
        {"what": "user vector buckets, MEMORY USAGE SAMPLES 0", "bytes_per_user": res["bytes_per_user_memory_usage"]},
        {"what": "user vectors, INFO used_memory delta (less item keys)", "bytes_per_user": res["bytes_per_user_info_delta"]},
        {"what": "raw float32 payload", "bytes_per_user": float(res["raw_value_bytes"])},
        {"what": "publish_version (all keys + user vectors), s", "seconds": res["publish_version_s"]},
        {"what": "raw pipelined HSET of the same vectors into one hash, s", "seconds": res["raw_pipelined_hset_s"]},
        {"what": "worker RSS idle, MiB", "mib": max(res["worker_rss_idle_mib"] or [0])},
        {"what": f"worker RSS with {n_items:,} items loaded, MiB", "mib": max(res["worker_rss_loaded_mib"] or [0])},
    ]
    print_table(f"memory ({n_users:,} users, {n_items:,} items)", rows)
    emit_json("memory", quick, res)


if __name__ == "__main__":
    main()
