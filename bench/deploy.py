"""A synthetic deployment without the training pipeline: catalog records and cards, a
random model published through Solace's own code, user vectors and an API key."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from bench.common import EMBED_DIM, FACTORS, TENANT, BenchEnv

# --------------------------------------------------------------------------- synthetic data
_POOL: dict[int, list[str]] = {}


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
    vector_buckets: list[str]  # every bucket the version's user vectors can be in


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
    ``bulk_users`` skips publish_version's per-user loop and writes the same buckets with
    ``storage.snapshot.write_user_vectors`` (used only to save time when the publish path
    itself is not measured).
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
    if bulk_users:
        t = time.perf_counter()
        bulk_write_user_vectors(client, keys, mv.version, users)
        timings["bulk_user_vectors_s"] = time.perf_counter() - t

    t = time.perf_counter()
    pipe = client.pipeline(transaction=False)
    staging_items, staging_emb = keys.catalog_items + ":staging", keys.catalog_embeddings + ":staging"
    pipe.execute_command("DEL", staging_items, staging_emb)  # one slot: the catalog's tag
    pairs = list(cards.items())
    for s in range(0, len(pairs), 5000):
        pipe.hset(staging_items, mapping=dict(pairs[s:s + 5000]))
    if emb is not None:
        for s in range(0, n, 5000):
            pipe.hset(staging_emb, mapping={item_ids[r]: emb[r].tobytes() for r in range(s, min(n, s + 5000))})
    pipe.execute()
    pipe = client.pipeline(transaction=True)
    pipe.execute_command("RENAME", staging_items, keys.catalog_items)
    if emb is not None:
        pipe.execute_command("RENAME", staging_emb, keys.catalog_embeddings)
    pipe.incr(keys.catalog_version)
    # this Redis now holds the whole state (as the quick start and a restore say): without the
    # marker serving takes Redis for emptied and answers from SQL, which has no model here
    pipe.set(keys.restored, "bench")
    pipe.execute()
    timings["publish_catalog_s"] = time.perf_counter() - t
    register_catalog_ids(be, item_ids)
    return Deployment(mv.version, item_ids, n_users, items, users, timings, keys.vector_buckets(mv.version))


def bulk_write_user_vectors(client: Any, keys: Any, version: str, users: np.ndarray, chunk: int = 2000) -> None:
    """The same buckets publish_version writes (``storage.snapshot``'s user-vector layout)."""
    from storage.snapshot import vector_bytes, write_user_vectors

    write_user_vectors(client, keys, version,
                       ((TENANT, user_id(i), vector_bytes(users[i])) for i in range(users.shape[0])), chunk)


def register_catalog_ids(be: BenchEnv, item_ids: list[str]) -> None:
    """The synthetic items as (approved, minimal) rows of the SQL catalog, which the events
    endpoint checks every ``resource_id`` against; serving itself reads the cards in Redis."""
    from datetime import UTC, datetime

    from storage.db import get_engine
    from storage.tables import resources_table

    be.home.mkdir(parents=True, exist_ok=True)
    now = datetime.now(UTC)
    rows = [{"id": rid, "type": "article", "status": "approved", "data": {"id": rid}, "approved_data": {"id": rid},
             "content_hash": rid, "version": 1, "created_at": now, "updated_at": now} for rid in item_ids]
    with get_engine(be.settings().sql_url).begin() as conn:
        for start in range(0, len(rows), 5000):
            conn.execute(resources_table.insert(), rows[start:start + 5000])


def create_api_key(be: BenchEnv) -> str:
    from storage.api_keys import KeyStore, Role
    from storage.db import get_engine

    be.home.mkdir(parents=True, exist_ok=True)
    engine = get_engine(be.settings().sql_url)
    _key, secret = KeyStore(engine).create(TENANT, Role.PLATFORM)
    return secret
