"""The safety and privacy policy: properties over random catalogs, users and vectors;
tenant settings; erasure on both SQL backends and the real Redis; tenant isolation."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.taxonomy import TOPICS
from recommender.catalog_view import CatalogView
from recommender.policy import PolicyRequest, apply_policy, violates_policy
from storage.api_keys import Role

TYPES = ["article", "exercise", "group"]
WARNINGS = ["self-harm", "suicide", "grief", "eating-disorder", "substance-use"]


@st.composite
def catalogs(draw):  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    n = draw(st.integers(min_value=1, max_value=60))
    cards = {}
    ids = []
    for i in range(n):
        rid = f"r{i}"
        ids.append(rid)
        if draw(st.booleans()) and draw(st.booleans()):
            continue  # not servable (draft, retired or unknown to the catalog)
        crisis = draw(st.integers(0, 9)) == 0
        cards[rid] = {
            "id": rid, "type": draw(st.sampled_from(TYPES)), "title": rid,
            "topics": draw(st.lists(st.sampled_from(TOPICS), min_size=1, max_size=3, unique=True)),
            "locales": [draw(st.sampled_from(["en", "en-GB", "de", "fr"]))],
            "audience": draw(st.sampled_from(["all", "all", "adult"])),
            "content_warnings": draw(st.lists(st.sampled_from(WARNINGS), max_size=2, unique=True)),
            "is_crisis_resource": crisis,
            "country": draw(st.sampled_from(["GB", "US", "INTL"])) if crisis else None,
            "group": {"capacity": draw(st.integers(0, 5))} if draw(st.booleans()) else None,
        }
        cards[rid] = {k: v for k, v in cards[rid].items() if v is not None}
        if cards[rid]["type"] != "group":
            cards[rid].pop("group", None)
    return CatalogView.build(ids, cards)


requests = st.builds(
    PolicyRequest,
    types=st.sets(st.sampled_from(TYPES), min_size=1).map(frozenset),
    locale=st.sampled_from([None, "en", "en-GB", "de-DE", "fr-FR"]),
    opt_outs=st.sets(st.sampled_from(TOPICS), max_size=4).map(frozenset),
    is_minor=st.booleans(),
    risk=st.booleans(),
    max_topic_share=st.sampled_from([0.2, 0.3, 0.4, 0.5, 1.0]),
    max_heavy_share=st.sampled_from([0.0, 0.2, 0.3, 1.0]),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(view=catalogs(), req=requests, k=st.integers(1, 20), seed=st.integers(0, 2**31 - 1),
       with_embeddings=st.booleans())
def test_no_list_ever_breaks_rules_1_3_4_and_rule_2_always_holds(view, req, k, seed, with_embeddings) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    rng = np.random.default_rng(seed)
    n = len(view.item_ids)
    scores = rng.normal(size=n) * rng.choice([1e-3, 1.0, 1e3])
    emb = rng.normal(size=(n, 8)).astype(np.float32) if with_embeddings else None
    if emb is not None:
        emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    crisis, ranked = apply_policy(view, scores, k, req, emb)
    assert len(ranked) <= k and len(set(ranked)) == len(ranked)
    assert violates_policy(view, ranked, req, k) == []  # rules 1, 3 and 4
    assert all(view.servable[r] for r in crisis)  # rule 1 holds for crisis rows too
    servable_crisis = [r for r in range(n) if view.servable[r] and view.crisis[r]]
    if req.risk and servable_crisis:
        assert crisis, "risk signalled and crisis resources exist: they must come first"
        assert not set(crisis) & set(ranked)
    if not req.risk:
        assert crisis == []


def test_tenant_policy_can_only_make_lists_stricter(app_client, deployment) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    from storage.tenants import TenantPolicy, TenantPolicyStore

    services, _ = deployment
    tenant = f"strict-{uuid.uuid4().hex[:6]}"
    _k, key = services.api_keys.create(tenant, Role.PLATFORM)
    auth = {"Authorization": f"Bearer {key}"}
    TenantPolicyStore(services.engine, services.redis, services.keys).put(
        tenant, TenantPolicy(excluded_topics=["sleep"], treat_all_as_minors=True, max_topic_share=0.9)
    )
    body = app_client.post("/v1/recommendations", json={"features": ["topic:sleep"], "k": 20}, headers=auth).json
    assert body["items"]
    assert all("sleep" not in i["topics"] for i in body["items"])
    cards = services.catalog.servable()
    adult = {r.id for r in cards if r.audience == "adult"}
    assert not adult & {i["resource_id"] for i in body["items"]}
    topics = [t for i in body["items"] for t in i["topics"]]
    assert max(topics.count(t) for t in set(topics)) <= 8  # the deployment's 0.4 wins over 0.9
    found = app_client.get("/v1/resources/search?q=trouble sleeping at night&k=10", headers=auth).json["items"]
    assert all("sleep" not in i["topics"] for i in found)


def test_erasure_leaves_no_trace_in_sql_and_redis(sql_engine, settings) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    import redis as redis_lib
    from sqlalchemy import select

    from core.events import Event
    from core.users import UserProfile
    from storage.erasure import erase_user
    from storage.events import EventStore
    from storage.keyspace import Keyspace
    from storage.profiles import ProfileStore
    from storage.tables import erasure_log_table
    from storage.user_state import apply_events, put_profile

    client = redis_lib.Redis.from_url(settings.redis_url)
    keys = Keyspace(settings.redis_prefix)
    user, other = "user-to-erase-7f3a", "user-who-stays-91"
    now = datetime.now(UTC)
    evs = [Event(f"e{n}-{u}", u, "art-x", t, now) for n, t in enumerate(["click", "complete", "report"]) for u in (user, other)]
    for tenant in ("acme", "zeta"):
        EventStore(sql_engine).add_batch(tenant, evs)
        ProfileStore(sql_engine).put(tenant, user, UserProfile(features=["topic:sleep"]))
        apply_events(client, keys, tenant, evs, 3600)
        put_profile(client, keys, tenant, user, UserProfile(features=["topic:sleep"]))
        client.hset(keys.published_versions, "v1", "2026-01-01")  # as publish records a version
        client.hset(*keys.user_vector(tenant, "v1", user), b"\x00" * 8)
        client.hset(*keys.user_vector(tenant, "v1", other), b"\x01" * 8)
        client.hset(keys.user_cached_lists(tenant, user), "sig", "{}")

    report = erase_user(settings, sql_engine, client, keys, "acme", user)
    assert report.events == 3 and report.profiles == 1 and report.redis_entries >= 5

    for key in client.scan_iter(match=f"{settings.redis_prefix}:t:acme:*"):
        assert user.encode() not in key
        if client.type(key) == b"hash":
            assert not client.hexists(key, user)
    assert not client.hexists(*keys.user_vector("acme", "v1", user))
    assert client.hexists(*keys.user_vector("acme", "v1", other))  # others untouched
    assert client.hexists(*keys.user_vector("zeta", "v1", user))  # the same id in another tenant too
    assert client.exists(keys.user_completed("zeta", user))  # the same id in another tenant stays
    store = EventStore(sql_engine)
    assert store.user_events("acme", user) == [] and len(store.user_events("acme", other)) == 3
    assert len(store.user_events("zeta", user)) == 3
    with sql_engine.connect() as conn:
        rows = conn.execute(select(erasure_log_table)).all()
        dumped = repr([tuple(r) for r in rows])
        for table in ("events", "user_profiles"):
            from storage.tables import metadata

            t = metadata.tables[table]
            hits = conn.execute(select(t).where(t.c.tenant == "acme", t.c.user_id == user)).all()
            assert hits == []
    assert len(rows) == 1 and user not in dumped and len(rows[0].user_hash) == 64


def test_erasure_removes_the_users_vectors_from_stored_model_versions(sql_engine, settings) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    """A trained vector is derived personal data: erasure takes it out of every stored
    version (the tenant-scoped key of a store-trained version; the raw id of a file-trained
    version only where it was published for that tenant), leaving every other row as it was."""
    import numpy as np
    import redis as redis_lib

    from storage.erasure import erase_user
    from storage.keyspace import Keyspace
    from storage.registry import ModelRegistry

    registry = ModelRegistry(settings.models_dir)
    user = "user-to-erase-7f3a"
    store_users = [f"acme:{user}", "acme:stays-1", f"zeta:{user}"]
    vectors = np.arange(12, dtype=np.float32).reshape(3, 4)
    items = {"item_vectors": np.ones((2, 4), np.float32)}
    store = registry.save("als", {}, {**items, "user_vectors": vectors}, {"users": store_users, "items": ["a", "b"]},
                          {}, "fp1", {"data_source": "solace"})
    published = registry.save("als", {}, {**items, "user_vectors": vectors}, {"users": [user, "stays-2", "x"],
                              "items": ["a", "b"]}, {}, "fp2", {"data_source": "files"})
    registry.record_activation(published.version, "publish", tenant="acme")
    private = registry.save("als", {}, {**items, "user_vectors": vectors}, {"users": [user, "y", "z"], "items": ["a", "b"]},
                            {}, "fp3", {"data_source": "files"})

    client = redis_lib.Redis.from_url(settings.redis_url)
    report = erase_user(settings, sql_engine, client, Keyspace(settings.redis_prefix), "acme", user)
    assert report.model_versions == 2

    after = registry.get(store.version)
    assert after.ids()["users"] == ["acme:stays-1", f"zeta:{user}"]  # the same id in another tenant stays
    np.testing.assert_array_equal(after.arrays()["user_vectors"], vectors[1:])
    assert after.manifest["n_users"] == 2 and after.ids()["items"] == ["a", "b"]
    assert f"acme:{user}" not in "".join(p.read_text(errors="ignore") for p in after.path.iterdir() if p.suffix == ".json")
    again = registry.get(published.version)
    assert again.ids()["users"] == ["stays-2", "x"]
    np.testing.assert_array_equal(again.arrays()["user_vectors"], vectors[1:])
    # never published for acme: its ids belong to nobody Solace knows, so it is left alone
    assert registry.get(private.version).ids()["users"] == [user, "y", "z"]
    assert not [p for p in settings.models_dir.iterdir() if p.name.startswith(".")]  # no staging or trash left
    assert erase_user(settings, sql_engine, client, Keyspace(settings.redis_prefix), "acme", user).model_versions == 0


def test_training_cannot_see_an_erased_user(app_client, deployment) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    from core.ids import user_key
    from training.store_data import build_store_dataset

    services, _ = deployment
    user = f"gone-{uuid.uuid4().hex[:6]}"
    rid = services.catalog.servable()[5].id
    now = datetime.now(UTC).isoformat()
    app_client.post("/v1/events", json={"events": [{"event_id": f"{user}-1", "user_id": user, "resource_id": rid,
                                                    "type": "complete", "timestamp": now}]})
    app_client.delete(f"/v1/users/{user}")
    data = build_store_dataset(services.engine, "all-MiniLM-L6-v2")
    assert user_key("demo", user) not in data.user_ids


def test_events_purge_removes_old_events_and_the_state_derived_from_them(tmp_path, redis_url, redis_prefix) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    import redis as redis_lib
    from click.testing import CliRunner

    from core.events import Event
    from solace.cli import cli
    from storage.db import get_engine
    from storage.events import EventStore
    from storage.keyspace import Keyspace
    from storage.user_state import apply_events

    home = tmp_path / "h"
    home.mkdir()
    engine = get_engine(f"sqlite:///{home / 'solace.db'}")
    now = datetime.now(UTC)
    events = [Event("old", "u1", "r-old", "complete", now - timedelta(days=400)),
              Event("new", "u1", "r-new", "complete", now - timedelta(days=3)),
              Event("gone", "u2", "r-old", "like", now - timedelta(days=500))]
    EventStore(engine).add_batch("acme", events)
    client = redis_lib.Redis.from_url(redis_url)
    keys = Keyspace(redis_prefix)
    apply_events(client, keys, "acme", events, 3600)
    # model versions: two trained on the event log long ago (one still active), one recent,
    # one trained on a data scientist's files long ago (no event-log data in it)
    import json

    import numpy as np

    from storage.registry import ModelRegistry

    registry = ModelRegistry(home / "models")
    arrays = {"item_vectors": np.ones((1, 2), np.float32), "user_vectors": np.ones((1, 2), np.float32)}

    def saved(source: str, days_ago: int) -> str:
        v = registry.save("als", {}, arrays, {"users": ["acme:u1"], "items": ["r-old"]}, {}, "fp", {"data_source": source})
        manifest = {**v.manifest, "created_at": (now - timedelta(days=days_ago)).isoformat()}
        (v.path / "manifest.json").write_text(json.dumps(manifest))
        return v.version

    old_inactive, old_active = saved("solace", 500), saved("solace", 450)
    recent, from_files = saved("solace", 10), saved("files", 600)
    registry.record_activation(old_active, "publish")
    env = {"SOLACE_HOME": str(home), "SOLACE_REDIS_URL": redis_url, "SOLACE_REDIS_PREFIX": redis_prefix}
    r = CliRunner().invoke(cli, ["events", "purge"], env=env)
    assert r.exit_code == 0 and "purged 2 events" in r.output
    assert "deleted 1 model versions" in r.output and f"active model {old_active}" in r.stderr
    assert {v.version for v in registry.list()} == {old_active, recent, from_files}
    assert old_inactive not in {p.name for p in (home / "models").iterdir()}
    assert [e.event_id for e in EventStore(engine).user_events("acme", "u1")] == ["new"]
    assert client.smembers(keys.user_completed("acme", "u1")) == {b"r-new"}
    assert not client.exists(keys.user_interactions("acme", "u2"))


def test_one_tenant_cannot_read_or_change_anothers_data(app_client, deployment) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    """With tenant B's key, every endpoint is tried against tenant A's users and events."""
    services, result = deployment
    victim = result.example_user  # a demo-tenant user with history, vector and profile
    _k, key_b = services.api_keys.create(f"intruder-{uuid.uuid4().hex[:6]}", Role.PLATFORM)
    b = {"Authorization": f"Bearer {key_b}"}
    mine_before = app_client.get(f"/v1/users/{victim}/recommendations?k=5").json
    events_before = len(services.events.user_events("demo", victim))
    profile_before = services.profiles.get("demo", victim)

    seen = app_client.get(f"/v1/users/{victim}/recommendations?k=5", headers=b).json
    unknown = app_client.get("/v1/users/no-such-user-anywhere/recommendations?k=5", headers=b).json
    assert seen["source"] == unknown["source"] == "popular"  # indistinguishable from a stranger
    assert [i["resource_id"] for i in seen["items"]] == [i["resource_id"] for i in unknown["items"]]
    post = app_client.post("/v1/recommendations", json={"user_id": victim, "k": 5}, headers=b).json
    assert post["source"] == "popular"
    now = datetime.now(UTC).isoformat()
    # events B sends about "the same id" land in B's namespace only
    r = app_client.post("/v1/events", headers=b, json={"events": [
        {"event_id": f"x-{uuid.uuid4().hex}", "user_id": victim, "resource_id": mine_before["items"][0]["resource_id"],
         "type": "dismiss", "timestamp": now}]})
    assert r.status_code == 202
    assert app_client.put(f"/v1/users/{victim}", json={"opt_outs": ["sleep"]}, headers=b).status_code == 200
    d1 = app_client.delete(f"/v1/users/{victim}", headers=b)
    d2 = app_client.delete("/v1/users/no-such-user-anywhere", headers=b)
    assert d1.status_code == d2.status_code == 204 and d1.data == d2.data

    assert len(services.events.user_events("demo", victim)) == events_before
    assert services.profiles.get("demo", victim) == profile_before
    mine_after = app_client.get(f"/v1/users/{victim}/recommendations?k=5").json
    assert mine_after["source"] == "personalised"
    assert [i["resource_id"] for i in mine_after["items"]] == [i["resource_id"] for i in mine_before["items"]]
    # keys are managed by the operator's CLI only; the API has no endpoint that lists them
    assert app_client.get("/v1/keys", headers=b).status_code == 404


def test_ids_that_look_like_contact_details_are_refused_and_wildcards_are_literal(redis_url, redis_prefix) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    import pytest
    import redis as redis_lib

    from core.ids import opaque_user_id
    from storage.keyspace import Keyspace
    from storage.user_state import erase_user_state

    for bad in ("someone@example.com", "+44 7700 900123", "07700900123", "a*b", "x" * 129):
        with pytest.raises(ValueError):
            opaque_user_id(bad)
    for good in ("u-7f3a9c", "1234567890123456789", "sim-00001"):
        assert opaque_user_id(good) == good
    # an id is never a pattern: erasing "a?" must not touch "ab"
    client = redis_lib.Redis.from_url(redis_url)
    keys = Keyspace(redis_prefix)
    client.sadd(keys.user_completed("t1", "ab"), "r1")
    client.sadd(keys.user_completed("t1", "a?"), "r1")
    erase_user_state(client, keys, "t1", "a?")
    assert client.exists(keys.user_completed("t1", "ab"))
    assert not client.exists(keys.user_completed("t1", "a?"))
