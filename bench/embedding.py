"""Embedding throughput of ``solace embed`` (``solace.jobs.embed_catalog``: servable
catalog from SQL, ``embed_texts`` with the content-hash check, vectors stored in SQL) over
raw ``SentenceTransformer.encode`` on the same texts with the same loaded model, and the
time of a re-run with nothing changed. Model load is excluded (and reported).

    .venv/bin/python -m bench.embedding [--quick]

Full mode encodes 300 texts (about 650 characters each) both ways, three times each in
alternating order (medians), then re-runs over a
catalog of 10,000 items; the items not encoded here are given stored vectors carrying the
right text hashes (``EmbeddingStore.put``), which is all a re-run looks at. Quick mode: 60 texts
twice, 3,000 items.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from bench.common import bench_env, emit_json, parse_args, print_table, say
from bench.deploy import synthetic_resources


def main() -> None:
    args = parse_args(__doc__)
    quick = args.quick
    n_catalog = 3_000 if quick else 10_000
    n_encode = 60 if quick else 300
    res: dict[str, Any] = {"catalog_items": n_catalog, "encoded_items": n_encode}
    with bench_env("embed") as be:
        from solace.jobs import embed_catalog, encoder_for
        from solace.services import Services
        from storage.embeddings import text_hash

        services = Services(be.settings())
        resources = synthetic_resources(n_catalog - 3)  # + 3 crisis resources
        t = time.perf_counter()
        from content_catalog.access import Actor

        bench_reviewer = Actor("bench", global_staff=True, reviewer=True)  # synthetic content, approved here
        services.catalog.import_resources(resources, bench_reviewer, approve=True, trusted=True)
        res["catalog_upsert_s"] = time.perf_counter() - t
        say(f"catalog of {len(resources)} upserted in {res['catalog_upsert_s']:.1f} s")

        t = time.perf_counter()
        encoder = encoder_for(services)
        res["model_load_s"] = time.perf_counter() - t
        servable = services.catalog.servable()
        texts = {r.id: r.text_for_embedding() for r in servable}
        ids = list(texts)
        encode_ids = ids[:n_encode]
        # seed the store for the items not encoded here (right hashes, placeholder vectors),
        # so the first `solace embed` encodes exactly the n_encode texts raw encode gets
        rest = {i: (text_hash(texts[i]), np.zeros(encoder.dim, np.float32)) for i in ids[n_encode:]}
        services.embeddings.put(encoder.name, rest)
        batch = services.settings.embedding_batch_size
        encoder.model.encode([texts[i] for i in ids[:batch]], batch_size=batch)  # warm-up
        sample = [texts[i] for i in encode_ids]
        res["mean_text_chars"] = float(np.mean([len(s) for s in sample]))

        runs: dict[str, list[float]] = {"raw": [], "solace": []}
        stale = {i: ("stale", np.zeros(encoder.dim, np.float32)) for i in encode_ids}
        for rep in range(2 if quick else 3):
            # alternate the order, so a neighbour's burst hits both alike
            for which in (("raw", "solace") if rep % 2 == 0 else ("solace", "raw")):
                if which == "raw":
                    t = time.perf_counter()
                    encoder.model.encode(sample, batch_size=batch, show_progress_bar=False,
                                         convert_to_numpy=True, normalize_embeddings=True)
                    runs["raw"].append(time.perf_counter() - t)
                else:
                    services.embeddings.put(encoder.name, stale)  # these texts "changed"
                    t = time.perf_counter()
                    report = embed_catalog(services)
                    runs["solace"].append(time.perf_counter() - t)
                    assert report.encoded == n_encode, report
        res["raw_runs_s"], res["solace_runs_s"] = runs["raw"], runs["solace"]
        res["raw_items_s"] = n_encode / float(np.median(runs["raw"]))
        res["solace_items_s"] = n_encode / float(np.median(runs["solace"]))
        res["ratio_solace_over_raw"] = res["solace_items_s"] / res["raw_items_s"]

        t = time.perf_counter()
        report = embed_catalog(services)
        res["rerun_no_change_s"] = time.perf_counter() - t
        assert report.encoded == 0 and report.total == n_catalog, report
        # where a no-change re-run goes
        t = time.perf_counter()
        servable = services.catalog.servable()
        res["rerun_part_servable_s"] = time.perf_counter() - t
        t = time.perf_counter()
        texts = {r.id: r.text_for_embedding() for r in servable}
        res["rerun_part_texts_s"] = time.perf_counter() - t
        t = time.perf_counter()
        known = services.embeddings.hashes(encoder.name)
        _todo = [i for i, s in texts.items() if known.get(i) != text_hash(s)]
        res["rerun_part_hash_check_s"] = time.perf_counter() - t
    rows = [
        {"what": "raw SentenceTransformer.encode", "items": n_encode, "items_s": res["raw_items_s"]},
        {"what": "solace embed (embed_catalog)", "items": n_encode, "items_s": res["solace_items_s"],
         "ratio": res["ratio_solace_over_raw"]},
        {"what": "solace embed re-run, nothing changed", "items": n_catalog, "seconds": res["rerun_no_change_s"]},
        {"what": "  of which CatalogStore.servable()", "items": n_catalog, "seconds": res["rerun_part_servable_s"]},
        {"what": "  of which text_for_embedding", "items": n_catalog, "seconds": res["rerun_part_texts_s"]},
        {"what": "  of which hashes + compare", "items": n_catalog, "seconds": res["rerun_part_hash_check_s"]},
        {"what": "model load (excluded above)", "seconds": res["model_load_s"]},
    ]
    print_table("embedding (all-MiniLM-L6-v2, CPU)", rows)
    emit_json("embedding", quick, res)


if __name__ == "__main__":
    main()
