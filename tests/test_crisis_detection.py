"""The crisis detector on the examples issue 14 quotes, and the response that fits the moment.

Each example is what a person wrote (or one like it); the expectation is what a person
reading it would expect of a safe system.
"""

from __future__ import annotations

import pytest

from recommender.crisis import RiskLevel, assess, detect_crisis
from recommender.crisis_lexicon import lexicon_level, normalise

RISK_NOW = [
    "took 52 pills of ibuprofen", "sitting on the building waiting to jump", "I have a belt around my neck",
    "going to drink bleach", "is hanging too painful", "pros and cons of leaving a note",
    "I'm going to take all my pills", "can't stop thinking about jumping off the bridge",
    "k m s", "k.m.s", "kms", "thinking about sewerslide", "I want to unalive myself", "s u i c i d e",
    "I've been cutting again", "su1c1d4l thoughts again",
]
NOT_RISK = [
    "my brother died by suicide three years ago", "I don't want to die young", "I do not plan to kill myself",
    "this pizza is so good I want to die", "one year clean of self-harm", "I can't fall asleep at night",
    "suicide rates rose again last year, the report says", "call the suicide prevention lifeline at 988 if you need it",
    "as a teacher, what are the safeguarding steps if a pupil mentions suicide?",
    "this exam is killing me", "i'm dead 💀 that video", "killed it at the gym today",
]


@pytest.mark.parametrize("text", RISK_NOW)
def test_risk_now_is_crisis_with_the_lexicon_alone(text: str) -> None:
    assert lexicon_level(text) is RiskLevel.CRISIS


@pytest.mark.parametrize("text", NOT_RISK)
def test_mentions_negation_news_recovery_and_hyperbole_are_not_crisis(text: str) -> None:
    assert lexicon_level(text) is not RiskLevel.CRISIS


@pytest.mark.slow
@pytest.mark.parametrize("text", RISK_NOW)
def test_risk_now_is_crisis_with_the_classifier(encoder, text: str) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    assert detect_crisis(text, encoder)


@pytest.mark.slow
@pytest.mark.parametrize("text", NOT_RISK)
def test_not_risk_stays_below_crisis_with_the_classifier(encoder, text: str) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    assert not detect_crisis(text, encoder)


@pytest.mark.slow
def test_worry_for_someone_else_is_concern_and_asks_for_helping_content(encoder) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    result = assess("my friend said she wants to kill herself, what do i do", encoder)
    assert result.level is RiskLevel.CONCERN and result.helping


def test_spaced_and_dotted_letters_are_joined() -> None:
    assert normalise("k m s") == "kms" and normalise("k.m.s") == "kms"
    assert normalise("s.u.i.c.i.d.e") == "suicide"
    assert "52" in normalise("took 52 pills")  # numbers are not read as leetspeak


def _seed_tags() -> dict[str, set[str]]:
    from content_catalog.seed import load_seed_catalog

    return {r.id: set(r.tags or []) for r in load_seed_catalog()}


@pytest.mark.slow
def test_a_sleep_question_is_not_a_crisis(app_client) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    body = app_client.post("/v1/recommendations", json={"context": {"text": "I can't fall asleep at night"}}).json
    assert body["crisis"] is False and body["risk"] == "none"
    assert not any(i["is_crisis_resource"] for i in body["items"])


@pytest.mark.slow
def test_search_for_crisis_words_puts_crisis_lines_first(app_client) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    body = app_client.get("/v1/resources/search?q=i want to kill myself&locale=en-US").json
    assert body["crisis"] is True and body["risk"] == "crisis"
    assert body["items"][0]["is_crisis_resource"] and body["items"][0]["contact"]
    calm = app_client.get("/v1/resources/search?q=breathing exercise for stress").json
    assert calm["crisis"] is False and not any(i["is_crisis_resource"] for i in calm["items"])


@pytest.mark.slow
def test_items_next_to_crisis_lines_fit_the_moment(app_client) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    from recommender.catalog_view import COPING_TAGS

    tags = _seed_tags()
    body = app_client.post("/v1/recommendations", json={"context": {"text": "I've been cutting again"}, "k": 5}).json
    assert body["crisis"] is True and body["items"][0]["is_crisis_resource"]
    rest = [i for i in body["items"] if not i["is_crisis_resource"]]
    assert rest and all(tags[i["resource_id"]] & COPING_TAGS for i in rest), [i["title"] for i in rest]
    assert not any("substance-use" in i["topics"] for i in rest)
    assert all("Suggested for" not in (i["reason"] or "") for i in rest)
    body = app_client.post("/v1/recommendations", json={"context": {"text": "I want to unalive myself"}, "k": 5}).json
    assert body["crisis"] is True
    assert not any("lgbtq" in i["topics"] for i in body["items"] if not i["is_crisis_resource"])


@pytest.mark.slow
def test_concern_leads_with_support_and_forces_no_hotline(app_client) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    from recommender.catalog_view import HELPING_TAGS

    tags = _seed_tags()
    body = app_client.post("/v1/recommendations", json={
        "context": {"text": "my friend told me she wants to kill herself, how can i help her"}, "k": 5}).json
    assert body["risk"] == "concern" and body["crisis"] is False
    assert not any(i["is_crisis_resource"] for i in body["items"])
    assert tags[body["items"][0]["resource_id"]] & HELPING_TAGS


@pytest.mark.slow
def test_reasons_never_name_a_heavy_topic_the_person_did_not_choose(app_client) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    heavy = ("self harm", "suicide", "eating disorders", "trauma", "substance use", "depression", "grief")
    body = app_client.post("/v1/recommendations", json={"features": ["topic:sleep"], "k": 20}).json
    for item in body["items"]:
        reason = (item["reason"] or "").lower()
        assert not any(word in reason for word in heavy), reason


def test_a_weak_match_is_confirmed_by_how_serious_the_text_reads_not_by_crisis_alone() -> None:
    # "I want to die" said in earnest often reads as distress (concern) to the classifier
    # rather than as a plan; said as a joke it reads as none. The weak bar is on concern + crisis.
    import numpy as np

    from recommender.crisis import Thresholds, decide
    from recommender.crisis_lexicon import LexiconReading

    weak = LexiconReading(weak=True)
    thresholds = Thresholds(crisis=0.9, weak=0.5, concern=0.6)
    earnest = np.array([0.2, 0.7, 0.1])  # mostly distress, little crisis on its own
    jest = np.array([0.8, 0.1, 0.1])  # the same crisis probability, read as everyday talk
    assert decide(weak, earnest, thresholds) is RiskLevel.CRISIS
    assert decide(weak, jest, thresholds) is RiskLevel.CONCERN
    assert decide(LexiconReading(), earnest, thresholds) is RiskLevel.CONCERN  # no risk words: not crisis
