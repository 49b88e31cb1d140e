"""The quality loop. Experiments between model versions: lifecycle, assignment, attribution,
erasure, the guardrail, and a simulation in which the better model wins and an A/A test
stays quiet. Outcome flags: a planted harmful resource goes back to review and is paused
for the tenant that asks, no good resource does, and a crisis line is never paused.

One deployment of its own (a quick start plus a popularity version), on the real Redis
and the default SQLite, driven through the HTTP API in process.
"""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest
import redis

from analytics.experiments import ExperimentPlan, new_experiment
from analytics.outcomes import OutcomeCounts, read_experiment
from analytics.stats import assign
from core.experiments import arm_of, tagged_recommendation_id
from storage.experiments import ArmSpec
from tests.conftest import make_settings


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory, redis_url: str, encoder):  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    from serving.app import create_app
    from solace.jobs import train_from_store
    from solace.quickstart import run_quickstart
    from solace.services import Services
    from storage.api_keys import Role
    from training.simulate import simulate_history

    prefix = f"solace-exp-{uuid.uuid4().hex[:10]}"
    settings = make_settings(tmp_path_factory.mktemp("experiments"), redis_url, prefix, cache_ttl_seconds=30,
                             outcome_check_seconds=0)
    services = Services(settings)
    result = run_quickstart(services, n_users=300, say=lambda _m: None)
    popular = train_from_store(services, "popularity").version.version
    needs = simulate_history(services.catalog.servable(), n_users=300, random_state=settings.random_state).needs
    admin = services.api_keys.create("demo", Role.ADMIN)[1]
    other_admin = services.api_keys.create("other-" + uuid.uuid4().hex[:6], Role.ADMIN)[1]
    app = create_app(settings)
    any_resource = next(r.id for r in services.catalog.servable() if not r.is_crisis_resource)
    yield {"services": services, "app": app, "any_resource": any_resource, "hybrid": result.version, "popular": popular, "needs": needs,
           "platform": result.api_key, "admin": admin, "other_admin": other_admin}
    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(match=f"{prefix}:*", count=1000):
        client.delete(key)


def _call(lab: dict[str, Any], method: str, path: str, key: str, body: Any = None) -> tuple[int, Any]:
    client = lab["app"].test_client()
    resp = client.open(path, method=method, json=body, headers={"Authorization": f"Bearer {key}"})
    return resp.status_code, resp.get_json()


def _stop_all(lab: dict[str, Any]) -> None:
    status, body = _call(lab, "GET", "/v1/experiments", lab["admin"])
    for e in body["experiments"]:
        if e["status"] != "stopped":
            _call(lab, "POST", f"/v1/experiments/{e['experiment_id']}/stop", lab["admin"])


def _post_events(lab: dict[str, Any], events: list[dict[str, Any]]) -> None:
    now = datetime.now(UTC).isoformat()
    for start in range(0, len(events), 500):
        chunk = [{"event_id": uuid.uuid4().hex, "timestamp": now, **e} for e in events[start:start + 500]]
        status, body = _call(lab, "POST", "/v1/events", lab["platform"], {"events": chunk})
        assert status == 202, body


# --- the rules, without a deployment ---

def test_new_experiment_refuses_what_cannot_run() -> None:
    known = {"v1", "v2"}
    ok = [ArmSpec("control", "v1", 1.0), ArmSpec("treat", "v2", 1.0)]
    assert new_experiment("t", "cap-test", ok, known).control.name == "control"
    bad = {
        "one arm": ("x", [ArmSpec("control", "v1", 1.0)]),
        "same names": ("x", [ArmSpec("a", "v1", 1.0), ArmSpec("a", "v2", 1.0)]),
        "zero share": ("x", [ArmSpec("a", "v1", 0.0), ArmSpec("b", "v2", 1.0)]),
        "nan share": ("x", [ArmSpec("a", "v1", float("nan")), ArmSpec("b", "v2", 1.0)]),
        "unknown version": ("x", [ArmSpec("a", "v1", 1.0), ArmSpec("b", "v9", 1.0)]),
        "cap above one": ("x", [ArmSpec("a", "v1", 1.0), ArmSpec("b", "v2", 1.0, 1.5)]),
        "upper-case id": ("Exp", ok),
        "dot in id": ("a.b", ok),
        "id too long": ("x" * 25, ok),
        "arm name with dot": ("x", [ArmSpec("a.b", "v1", 1.0), ArmSpec("b", "v2", 1.0)]),
    }
    for label, (exp_id, arms) in bad.items():
        with pytest.raises(ValueError):
            new_experiment("t", exp_id, arms, known)
            pytest.fail(label)


def test_a_recommendation_id_names_an_arm_only_in_its_exact_form() -> None:
    rid = tagged_recommendation_id("cap-test", "treat")
    assert arm_of(rid) == ("cap-test", "treat") and len(rid) <= 64
    for other in (None, "", uuid.uuid4().hex, rid + ".x", rid.upper(), "." + rid, rid[:23] + "." + "cap-test.treat",
                  f"{uuid.uuid4().hex[:24]}.cap-test.", f"{uuid.uuid4().hex[:24]}..treat"):
        assert arm_of(other) is None, other


def test_assignment_is_stable_and_follows_the_shares() -> None:
    plan = ExperimentPlan("e1", (ArmSpec("a", "v1", 1.0), ArmSpec("b", "v2", 3.0)))
    users = [f"u{n}" for n in range(8000)]
    arms = [plan.arm_for("t", u).name for u in users]
    assert arms == [plan.arm_for("t", u).name for u in users]
    share_b = arms.count("b") / len(arms)
    assert abs(share_b - 0.75) < 4 * (0.75 * 0.25 / len(arms)) ** 0.5
    # another experiment or tenant reshuffles (no user is always the treated one)
    other = [assign("t", "e2", u, ["a", "b"], [1.0, 3.0]) for u in users]
    assert sum(x != y for x, y in zip(arms, other)) > 1000


def test_an_a_a_experiment_looked_at_every_day_declares_nothing_in_at_least_95_of_100_runs() -> None:
    """The same helpful rate in both arms, results read after every 100 users (20 looks):
    the always-valid test must not turn repeated looks into false wins."""
    false_alarms = 0
    for seed in range(100):
        rng = np.random.default_rng(seed)
        counts = {"a": OutcomeCounts(), "b": OutcomeCounts()}
        users = {"a": 0, "b": 0}
        declared = False
        for look in range(20):
            for n in range(100):
                arm = assign("t", f"aa-{seed}", f"u{look}-{n}", ["a", "b"], [1.0, 1.0])
                users[arm] += 1
                c = counts[arm]
                c.impressions += 3
                helpful = int(rng.binomial(2, 0.55))
                c.helpful += helpful
                c.not_helpful += 2 - helpful
            reading = read_experiment(users, {"a": 1.0, "b": 1.0}, counts, "a")
            if any(r.significant for r in reading.comparisons["b"] if r.metric == "helpful_rate"):
                declared = True
                break
        false_alarms += declared
    assert false_alarms <= 5, f"{false_alarms} of 100 A/A runs declared a difference"


# --- through the API ---

def test_lifecycle_and_its_errors(lab: dict[str, Any]) -> None:
    _stop_all(lab)
    admin, exp = lab["admin"], "life-" + uuid.uuid4().hex[:6]
    body = {"experiment_id": exp, "arms": [{"name": "control", "model_version": lab["hybrid"], "share": 1},
                                          {"name": "popular", "model_version": lab["popular"], "share": 1}]}
    status, created = _call(lab, "POST", "/v1/experiments", admin, body)
    assert status == 201 and created["status"] == "draft" and created["control"] == "control"
    assert _call(lab, "POST", "/v1/experiments", admin, body)[0] == 409
    bad_version = {**body, "experiment_id": exp + "x", "arms": [body["arms"][0], {**body["arms"][1], "model_version": "nope"}]}
    status, err = _call(lab, "POST", "/v1/experiments", admin, bad_version)
    assert status == 422 and "nope" in err["error"]["message"]
    for hostile in ({**body, "experiment_id": "UPPER"}, {**body, "arms": body["arms"][:1]},
                    {**body, "arms": [body["arms"][0], {**body["arms"][1], "share": True}]},
                    {**body, "arms": [body["arms"][0], {**body["arms"][1], "share": "1"}]},
                    {**body, "extra": 1}):
        assert _call(lab, "POST", "/v1/experiments", admin, hostile)[0] == 422, hostile
    # a platform key cannot run experiments; another tenant's admin cannot see this one
    assert _call(lab, "POST", f"/v1/experiments/{exp}/start", lab["platform"])[0] == 403
    assert _call(lab, "GET", f"/v1/experiments/{exp}", lab["other_admin"])[0] == 404
    assert _call(lab, "POST", f"/v1/experiments/{exp}/start", lab["other_admin"])[0] == 404
    assert _call(lab, "GET", f"/v1/experiments/{exp[:-1]}", admin)[0] == 404  # a prefix is another id

    status, started = _call(lab, "POST", f"/v1/experiments/{exp}/start", admin)
    assert status == 200 and started["status"] == "running"
    assert _call(lab, "POST", f"/v1/experiments/{exp}/start", admin)[0] == 409
    second = {**body, "experiment_id": exp + "-2"}
    assert _call(lab, "POST", "/v1/experiments", admin, second)[0] == 201
    status, err = _call(lab, "POST", f"/v1/experiments/{exp}-2/start", admin)
    assert status == 409 and exp in err["error"]["message"]
    status, read = _call(lab, "GET", f"/v1/experiments/{exp}", admin)
    assert status == 200 and [a["name"] for a in read["arms"]] == ["control", "popular"]
    status, stopped = _call(lab, "POST", f"/v1/experiments/{exp}/stop", admin)
    assert status == 200 and stopped["status"] == "stopped"
    assert _call(lab, "POST", f"/v1/experiments/{exp}/stop", admin)[0] == 409
    assert _call(lab, "POST", f"/v1/experiments/{exp}/start", admin)[0] == 409  # results never mix
    _stop_all(lab)


def test_users_are_served_their_arm_and_events_are_credited_to_it(lab: dict[str, Any]) -> None:
    _stop_all(lab)
    admin, exp = lab["admin"], "split-" + uuid.uuid4().hex[:6]
    arms = [{"name": "hybrid", "model_version": lab["hybrid"], "share": 1},
            {"name": "popular", "model_version": lab["popular"], "share": 1, "max_topic_share": 0.3}]
    assert _call(lab, "POST", "/v1/experiments", admin, {"experiment_id": exp, "arms": arms})[0] == 201
    assert _call(lab, "POST", f"/v1/experiments/{exp}/start", admin)[0] == 200
    version_of = {"hybrid": lab["hybrid"], "popular": lab["popular"]}
    users = sorted(lab["needs"])[:120]
    served: dict[str, str] = {}
    events: list[dict[str, Any]] = []
    for user in users:
        for _ in range(2):  # the second answer may come from the cached list: the same arm, a fresh id
            status, body = _call(lab, "GET", f"/v1/users/{user}/recommendations?k=5", lab["platform"])
            assert status == 200
            arm = body["experiment"]["arm"]
            assert body["experiment"]["experiment_id"] == exp
            assert body["model_version"] == version_of[arm]
            assert arm_of(body["recommendation_id"]) == (exp, arm)
            assert served.setdefault(user, arm) == arm, "a user changed arm between requests"
        if arm == "popular":
            topics = Counter(t for i in body["items"] if not i["is_crisis_resource"] for t in i["topics"][:1])
            assert max(topics.values()) <= max(1, int(0.3 * 5)), "the arm's topic cap was not applied"
        events += [{"user_id": user, "resource_id": i["resource_id"], "type": "impression",
                    "recommendation_id": body["recommendation_id"]} for i in body["items"]]
    n_popular = sum(a == "popular" for a in served.values())
    assert 30 < n_popular < 90
    # an anonymous request is not in the experiment
    status, body = _call(lab, "POST", "/v1/recommendations", lab["platform"], {"k": 3})
    assert status == 200 and body["experiment"] is None
    # forged tags: an arm the experiment lacks, an experiment of nobody's
    first = events[0]
    events.append({**first, "recommendation_id": f"{uuid.uuid4().hex[:24]}.{exp}.nosucharm"})
    events.append({**first, "recommendation_id": f"{uuid.uuid4().hex[:24]}.not-running.hybrid"})
    _post_events(lab, events)
    status, read = _call(lab, "GET", f"/v1/experiments/{exp}", admin)
    by_arm = {a["name"]: a for a in read["arms"]}
    for name in ("hybrid", "popular"):
        expected = sum(1 for e in events[:-2] if arm_of(e["recommendation_id"]) == (exp, name))
        assert by_arm[name]["figures"]["impressions"] == expected
        assert by_arm[name]["users"] == sum(1 for a in served.values() if a == name)
    assert read["sample_ratio"]["mismatch"] is False

    # a user's arm membership is theirs: exported with them, erased with them and nobody else
    user = users[0]
    status, export = _call(lab, "GET", f"/v1/users/{user}", lab["platform"])
    assert export["experiment_arms"] == [{"experiment_id": exp, "arm": served[user]}]
    assert _call(lab, "DELETE", f"/v1/users/{user}", lab["platform"])[0] in (200, 202, 204)
    status, export = _call(lab, "GET", f"/v1/users/{user}", lab["platform"])
    assert export["experiment_arms"] == []
    status, read = _call(lab, "GET", f"/v1/experiments/{exp}", admin)
    assert sum(a["users"] for a in read["arms"]) == len(users) - 1
    _call(lab, "POST", f"/v1/experiments/{exp}/stop", admin)
    status, body = _call(lab, "GET", f"/v1/users/{users[1]}/recommendations?k=5", lab["platform"])
    assert body["experiment"] is None and body["model_version"] == lab["hybrid"]
    assert arm_of(body["recommendation_id"]) is None


def test_an_arm_that_harms_stops_the_experiment_by_itself(lab: dict[str, Any]) -> None:
    _stop_all(lab)
    admin, exp = lab["admin"], "guard-" + uuid.uuid4().hex[:6]
    arms = [{"name": "control", "model_version": lab["hybrid"], "share": 1},
            {"name": "risky", "model_version": lab["popular"], "share": 1}]
    assert _call(lab, "POST", "/v1/experiments", admin, {"experiment_id": exp, "arms": arms})[0] == 201
    assert _call(lab, "POST", f"/v1/experiments/{exp}/start", admin)[0] == 200
    events: list[dict[str, Any]] = []
    for user in sorted(lab["needs"])[:240]:
        status, body = _call(lab, "GET", f"/v1/users/{user}/recommendations?k=3", lab["platform"])
        rid, arm, item = body["recommendation_id"], body["experiment"]["arm"], body["items"][-1]["resource_id"]
        events.append({"user_id": user, "resource_id": item, "type": "impression", "recommendation_id": rid})
        if arm == "risky":  # the planted harm: every user of this arm reports what it served
            events.append({"user_id": user, "resource_id": item, "type": "content_report", "reason": "upsetting",
                           "recommendation_id": rid})
    _post_events(lab, events)
    status, read = _call(lab, "GET", f"/v1/experiments/{exp}", admin)
    assert read["status"] == "stopped" and "guardrail" in read["stop_reason"] and "risky" in read["stop_reason"]
    status, body = _call(lab, "GET", f"/v1/users/{sorted(lab['needs'])[0]}/recommendations?k=3", lab["platform"])
    assert body["experiment"] is None


def test_simulation_the_personalised_model_wins_on_the_helpful_rate(lab: dict[str, Any]) -> None:
    """Simulated users find a resource helpful with a true chance that depends on whether it
    meets one of their needs; the hybrid (which learnt their needs) against popularity."""
    _stop_all(lab)
    admin, exp = lab["admin"], "sim-" + uuid.uuid4().hex[:6]
    arms = [{"name": "popular", "model_version": lab["popular"], "share": 1},
            {"name": "hybrid", "model_version": lab["hybrid"], "share": 1}]
    assert _call(lab, "POST", "/v1/experiments", admin, {"experiment_id": exp, "arms": arms})[0] == 201
    assert _call(lab, "POST", f"/v1/experiments/{exp}/start", admin)[0] == 200
    topics_of = {r.id: set(r.topics) for r in lab["services"].catalog.servable()}
    rng = np.random.default_rng(7)
    events: list[dict[str, Any]] = []
    for user, needs in sorted(lab["needs"].items()):
        status, body = _call(lab, "GET", f"/v1/users/{user}/recommendations?k=5", lab["platform"])
        rid = body["recommendation_id"]
        for item in body["items"][:3]:
            if item["is_crisis_resource"]:
                continue
            rid_item = item["resource_id"]
            events.append({"user_id": user, "resource_id": rid_item, "type": "impression", "recommendation_id": rid})
            p_helpful = 0.75 if topics_of.get(rid_item, set()) & set(needs) else 0.25
            kind = "helpful" if rng.random() < p_helpful else "not_helpful"
            events.append({"user_id": user, "resource_id": rid_item, "type": kind, "recommendation_id": rid})
    _post_events(lab, events)
    status, read = _call(lab, "GET", f"/v1/experiments/{exp}", admin)
    hybrid = next(a for a in read["arms"] if a["name"] == "hybrid")
    helpful = next(r for r in hybrid["against_control"] if r["metric"] == "helpful_rate")
    assert helpful["significant"] and helpful["difference"]["low"] > 0, helpful
    assert read["sample_ratio"]["mismatch"] is False
    assert read["status"] == "running"  # no harm signal: the guardrail stays quiet
    _stop_all(lab)


def _reviewer_key(lab: dict[str, Any]) -> str:
    from storage.api_keys import Role
    from storage.staff import StaffRole

    services = lab["services"]
    name = "rev-" + uuid.uuid4().hex[:6]
    services.staff.create(name, StaffRole.REVIEWER, "a long enough passphrase 1", tenant=None)
    return services.api_keys.create("demo", Role.EDITOR, reviewer=True, global_staff=True, staff=name)[1]


def test_a_harmful_resource_is_flagged_and_paused_and_no_good_one_is(lab: dict[str, Any]) -> None:
    from content_catalog.flags import FlagStore
    from storage.tenants import TenantPolicy, TenantPolicyStore

    _stop_all(lab)
    services = lab["services"]
    # the evidence starts empty: the guardrail test above planted reports of its own
    from storage.tables import outcome_rollups_table, outcome_totals_table, resource_flags_table

    with services.engine.begin() as conn:
        for table in (outcome_rollups_table, outcome_totals_table, resource_flags_table):
            conn.execute(table.delete())
    TenantPolicyStore(services.engine, services.redis, services.keys).put("demo", TenantPolicy(pause_flagged=True))
    users = sorted(lab["needs"])[:300]
    lists: dict[str, list[str]] = {}
    for user in users:
        status, body = _call(lab, "GET", f"/v1/users/{user}/recommendations?k=5", lab["platform"])
        lists[user] = [i["resource_id"] for i in body["items"] if not i["is_crisis_resource"]]
    shown = Counter(r for items in lists.values() for r in items)
    harmful = shown.most_common(1)[0][0]
    rng = np.random.default_rng(11)
    harmful_impressions = 0
    flagged_after = None
    for _round in range(12):
        events: list[dict[str, Any]] = []
        for user in users:
            for item in lists[user]:
                bad = item == harmful
                harmful_impressions += bad
                events.append({"user_id": user, "resource_id": item, "type": "impression"})
                if rng.random() < (0.10 if bad else 0.002):
                    events.append({"user_id": user, "resource_id": item, "type": "content_report", "reason": "harmful"})
                if rng.random() < 0.3:
                    helped = rng.random() < (0.2 if bad else 0.7)
                    events.append({"user_id": user, "resource_id": item, "type": "helpful" if helped else "not_helpful"})
        _post_events(lab, events)
        status, body = _call(lab, "GET", "/v1/analytics/flags", lab["admin"])
        assert status == 200
        if any(f["resource_id"] == harmful for f in body["flags"]):
            flagged_after = harmful_impressions
            break
    assert flagged_after is not None, f"not flagged after {harmful_impressions} impressions of the harmful resource"
    print(f"flagged after {flagged_after} impressions of the harmful resource")
    assert flagged_after <= 1000  # docs/quality-loop.md: the number of events it takes
    assert {f["resource_id"] for f in body["flags"]} == {harmful}, "a good resource was flagged"
    flag = body["flags"][0]
    assert flag["evidence"]["content_reports"] > 0 and flag["reasons"]
    # paused for the tenant that asked for it: no list of theirs holds it
    for user in users:
        if harmful in lists[user]:
            status, body = _call(lab, "GET", f"/v1/users/{user}/recommendations?k=5", lab["platform"])
            assert harmful not in [i["resource_id"] for i in body["items"]]
    # a tenant without the setting is still served it (the rule is per tenant)
    from recommender.policy import PolicyRequest, candidate_mask

    model, view = lab["app"].extensions["solace"].cache.pair()
    row = model.item_index[harmful]
    assert view.flagged[row]
    assert candidate_mask(view, PolicyRequest(tenant="other"))[row]
    assert not candidate_mask(view, PolicyRequest(tenant="demo", pause_flagged=True))[row]

    # the decision is a reviewer's, with a comment; keeping it lifts the pause
    platform_try = _call(lab, "POST", f"/v1/analytics/flags/{harmful}/decision", lab["platform"],
                         {"decision": "kept", "comment": "looked fine"})
    assert platform_try[0] == 403
    reviewer = _reviewer_key(lab)
    assert _call(lab, "POST", f"/v1/analytics/flags/{harmful}/decision", reviewer, {"decision": "kept"})[0] == 422
    assert _call(lab, "POST", f"/v1/analytics/flags/{harmful[:-1]}/decision", reviewer,
                 {"decision": "kept", "comment": "a prefix is another resource"})[0] == 404
    status, body = _call(lab, "POST", f"/v1/analytics/flags/{harmful}/decision", reviewer,
                         {"decision": "kept", "comment": "read every report: the wording is fine; reviewed again"})
    assert status == 200 and body["flags"][0]["status"] == "kept"
    assert FlagStore(services.engine).open_ids() == set()
    history = services.catalog.history(harmful)
    assert [h["action"] for h in history][-2:] == ["flagged", "flag_kept"]
    # the pause lifts at the next request (the user's own reports still weigh on their list)
    assert _call(lab, "GET", f"/v1/users/{users[0]}/recommendations?k=5", lab["platform"])[0] == 200
    model, view = lab["app"].extensions["solace"].cache.pair()
    assert not view.flagged[model.item_index[harmful]]
    assert candidate_mask(view, PolicyRequest(tenant="demo", pause_flagged=True))[model.item_index[harmful]]
    TenantPolicyStore(services.engine, services.redis, services.keys).put("demo", TenantPolicy())


def test_a_crisis_line_is_flagged_but_never_paused(lab: dict[str, Any]) -> None:
    from storage.tenants import TenantPolicy, TenantPolicyStore

    services = lab["services"]
    TenantPolicyStore(services.engine, services.redis, services.keys).put("demo", TenantPolicy(pause_flagged=True))
    before = "crisis-" + uuid.uuid4().hex[:6]
    _post_events(lab, [{"user_id": before, "resource_id": lab["any_resource"], "type": "distress"}])
    status, body = _call(lab, "GET", f"/v1/users/{before}/recommendations?k=5", lab["platform"])
    lines = [i["resource_id"] for i in body["items"] if i["is_crisis_resource"]]
    assert body["crisis"] is True and lines
    line = lines[0]
    events = [{"user_id": f"crisis-rep-{n}", "resource_id": line, "type": "impression"} for n in range(400)]
    events += [{"user_id": f"crisis-rep-{n}", "resource_id": line, "type": "content_report", "reason": "inaccurate"}
               for n in range(60)]
    _post_events(lab, events)
    status, body = _call(lab, "GET", "/v1/analytics/flags", lab["admin"])
    assert line in {f["resource_id"] for f in body["flags"]}, "reports on a crisis line go to review too"
    user = "crisis-" + uuid.uuid4().hex[:6]
    _post_events(lab, [{"user_id": user, "resource_id": lab["any_resource"], "type": "distress"}])
    status, body = _call(lab, "GET", f"/v1/users/{user}/recommendations?k=5", lab["platform"])
    assert body["crisis"] is True
    assert [i["resource_id"] for i in body["items"] if i["is_crisis_resource"]] == lines, "a crisis line was withheld"
    TenantPolicyStore(services.engine, services.redis, services.keys).put("demo", TenantPolicy())
