"""Scoring, candidate filtering, the safety policy and explanations, on small arrays."""

from __future__ import annotations

import numpy as np
import pytest

from recommender.catalog_view import CatalogView
from recommender.crisis import detect_crisis, normalise
from recommender.policy import PolicyRequest, apply_policy, violates_policy
from recommender.scoring import top_k


def test_top_k_matches_a_full_sort_and_skips_masked() -> None:
    rng = np.random.default_rng(0)
    scores = rng.normal(size=1000)
    scores[[3, 7]] = np.inf * -1
    idx, vals = top_k(scores, 10)
    expected = np.argsort(-scores)[:10]
    assert idx.tolist() == expected.tolist()
    assert np.all(np.diff(vals) <= 0)
    only_two = np.full(5, -np.inf)
    only_two[[1, 4]] = [0.5, 0.9]
    assert top_k(only_two, 3)[0].tolist() == [4, 1]


def _card(rid: str, topics: list[str], **kw) -> dict:  # type: ignore[type-arg]  # a card is free JSON
    return {"id": rid, "type": kw.pop("type", "article"), "title": rid, "topics": topics,
            "locales": kw.pop("locales", ["en"]), **kw}


def _view() -> CatalogView:
    cards = {
        "a1": _card("a1", ["sleep"]), "a2": _card("a2", ["sleep"]), "a3": _card("a3", ["sleep"]),
        "a4": _card("a4", ["anxiety"]), "a5": _card("a5", ["anxiety"]),
        "adult": _card("adult", ["substance-use"], audience="adult"),
        "sh": _card("sh", ["self-harm"], content_warnings=["self-harm"]),
        "lonely": _card("lonely", ["loneliness"], type="group", group={"capacity": 10}),
        "full": _card("full", ["loneliness"], type="group", group={"capacity": 0}),
        "crisis-gb": _card("crisis-gb", ["suicide-prevention"], is_crisis_resource=True, country="GB"),
        "crisis-intl": _card("crisis-intl", ["suicide-prevention"], is_crisis_resource=True, country="INTL"),
        "de": _card("de", ["stress"], locales=["de"]),
    }
    ids = list(cards) + ["not-approved"]
    return CatalogView.build(ids, cards)


def test_policy_filters_opt_outs_minors_unapproved_and_full_groups() -> None:
    view = _view()
    scores = np.linspace(1, 0, len(view.item_ids))
    scores[view.item_ids.index("not-approved")] = 100.0
    req = PolicyRequest(opt_outs=frozenset({"anxiety"}), is_minor=True, locale="en-GB",
                        max_topic_share=1.0, max_heavy_share=1.0)
    crisis, ranked = apply_policy(view, scores, 10, req)
    got = {view.item_ids[r] for r in ranked}
    assert crisis == []
    assert got == {"a1", "a2", "a3", "lonely"}
    assert violates_policy(view, ranked, req, 10) == []


def test_topic_share_caps_a_list_and_violations_are_detected() -> None:
    view = _view()
    scores = np.zeros(len(view.item_ids))
    for n, rid in enumerate(["a1", "a2", "a3"]):
        scores[view.item_ids.index(rid)] = 10 - n
    req = PolicyRequest(max_topic_share=0.4)
    _c, ranked = apply_policy(view, scores, 5, req)
    sleep = [r for r in ranked if "sleep" in view.topics_of(r)]
    assert len(sleep) == 2 and len(ranked) == 5
    three_sleep = [view.item_ids.index(x) for x in ("a1", "a2", "a3")]
    assert "a topic exceeds its share" in violates_policy(view, three_sleep, req, 5)


def test_crisis_resources_come_first_for_the_users_country_then_international() -> None:
    view = _view()
    scores = np.ones(len(view.item_ids))
    crisis, ranked = apply_policy(view, scores, 3, PolicyRequest(risk=True, locale="en-GB"))
    assert [view.item_ids[r] for r in crisis] == ["crisis-gb", "crisis-intl"]
    assert not set(crisis) & set(ranked)
    crisis_fr, _ = apply_policy(view, scores, 3, PolicyRequest(risk=True, locale="fr-FR"))
    assert [view.item_ids[r] for r in crisis_fr] == ["crisis-intl"]
    no_risk, _ = apply_policy(view, scores, 3, PolicyRequest(risk=False))
    assert no_risk == []


def test_content_in_another_language_is_never_served() -> None:
    view = _view()
    scores = np.ones(len(view.item_ids))
    _c, ranked = apply_policy(view, scores, 20, PolicyRequest(locale="de-DE", max_topic_share=1, max_heavy_share=1))
    assert {view.item_ids[r] for r in ranked} == {"de"}
    _c, ranked = apply_policy(view, scores, 20, PolicyRequest(locale="ja", max_topic_share=1, max_heavy_share=1))
    assert ranked == []  # nothing in Japanese: an empty list, never another language
    _c, ranked = apply_policy(view, scores, 20, PolicyRequest(locale="en-GB", max_topic_share=1, max_heavy_share=1))
    assert ranked and "de" not in {view.item_ids[r] for r in ranked}  # en-GB gets en, never de


@pytest.mark.parametrize("text", [
    "i want to die", "thinking about sewerslide", "going to unalive myself", "kms",
    "s u i c i d e", "I keep wanting to hurt myself", "su1c1d4l thoughts again",
    "everyone would be better off without me",
])
def test_crisis_language_is_detected_including_obfuscations(text: str) -> None:
    assert detect_crisis(text)


@pytest.mark.parametrize("text", [
    "this exam is killing me", "i'm dead 😂 that video", "how to kill weeds in the garden",
    "feeling a bit lonely tonight", "", None,
])
def test_hyperbole_and_ordinary_low_mood_are_not_crisis(text: str | None) -> None:
    assert not detect_crisis(text)


def test_normalise_undoes_leetspeak_and_spacing() -> None:
    assert normalise("S.U.I.C.I.D.E") == "suicide"
    assert normalise("an0rex1a") == "anorexia"


@pytest.mark.parametrize(("text", "expected"), [
    ("i have given away my things and i won't be around much longer", True),
    ("honestly i just want to stop existing", True),
    ("so bored in this lecture", False),
    ("what a great match last night", False),
])
def test_embedding_check_catches_phrasings_the_lexicon_misses(encoder, text: str, expected: bool) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    assert detect_crisis(text, encoder) is expected


def test_chosen_topics_order_items_by_matches_then_popularity() -> None:
    import numpy as np

    from recommender.scoring import chosen_topic_scores

    topics = np.array([[1, 0, 0], [0, 1, 0], [1, 1, 0], [0, 0, 1], [0, 0, 0]], dtype=bool)
    popularity = np.array([0.1, 5.0, 0.0, 9.0, 3.0])
    scores = chosen_topic_scores(topics, [0, 1], popularity)
    assert scores is not None
    # two matches first, then one match by popularity, then the rest by popularity
    assert list(np.argsort(-scores, kind="stable")) == [2, 1, 0, 3, 4]
    assert chosen_topic_scores(topics, [], popularity) is None
    flat = chosen_topic_scores(topics, [2], np.zeros(5))
    assert flat is not None and int(np.argmax(flat)) == 3
