from __future__ import annotations

import copy
from collections import Counter

import pytest
from pydantic import ValidationError

from content_catalog.schema import Resource
from content_catalog.seed import load_seed_catalog
from core.taxonomy import TOPICS

ARTICLE = {
    "id": "art-test-one", "type": "article", "title": "A short test article",
    "summary": "What this article helps with, in a sentence.", "body": "Some kind words.",
    "topics": ["stress"], "duration_minutes": 3,
}


def test_a_valid_article_passes_and_gets_defaults() -> None:
    r = Resource.model_validate(ARTICLE)
    assert r.status == "draft"
    assert r.locales == ["en"]
    assert r.audience == "all"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"body": None}, "body"),
        ({"topics": ["not-a-topic"]}, "topics"),
        ({"locales": ["english!"]}, "locales"),
        ({"id": "Has Spaces"}, "id"),
        ({"duration_minutes": 0}, "duration_minutes"),
        ({"url": "not a url"}, "url"),
        ({"status": "approved"}, "reviewed_by"),
    ],
)
def test_bad_records_are_rejected(change: dict, field: str) -> None:
    record = {**copy.deepcopy(ARTICLE), **change}
    with pytest.raises(ValidationError) as info:
        Resource.model_validate(record)
    text = str(info.value)
    assert field in text or "article needs a body" in text or "approved resource" in text


def test_crisis_resource_needs_country_and_a_channel() -> None:
    record = {**ARTICLE, "id": "crisis-x", "is_crisis_resource": True}
    with pytest.raises(ValidationError, match="country"):
        Resource.model_validate(record)
    record["country"] = "GB"
    record["contact"] = {"name": "Line", "checked_on": "2026-11-23"}
    with pytest.raises(ValidationError, match="at least one channel"):
        Resource.model_validate(record)
    record["contact"]["phone"] = "116 123"
    assert Resource.model_validate(record).contact.phone == "116 123"


def test_group_schedule_gives_future_sessions_in_its_zone() -> None:
    from datetime import UTC, datetime

    group = Resource.model_validate({
        **ARTICLE, "id": "grp-x", "type": "group", "body": None, "format": "live",
        "group": {"facilitator_credential": "Trained peer facilitator", "modality": "online",
                  "schedule": {"timezone": "Europe/London",
                               "weekly": [{"weekday": "tue", "start": "19:00"}],
                               "session_minutes": 60},
                  "capacity": 12},
    })
    now = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)  # a Monday
    sessions = group.group.schedule.next_sessions(now, count=2)
    assert [s.weekday() for s in sessions] == [1, 1]
    assert sessions[0] > now and (sessions[1] - sessions[0]).days == 7
    assert sessions[0].hour == 19


def test_seed_catalog_is_valid_broad_and_reviewed() -> None:
    seed = load_seed_catalog()
    assert len(seed) >= 60
    assert len({r.id for r in seed}) == len(seed)
    types = Counter(r.type for r in seed)
    assert set(types) == {"article", "exercise", "group"}
    covered = {t for r in seed for t in r.topics}
    assert {"anxiety", "loneliness", "social-comparison", "cyberbullying", "sleep"} <= covered
    assert covered <= set(TOPICS)
    assert all(r.status == "approved" and r.reviewed_by for r in seed)
    crisis = [r for r in seed if r.is_crisis_resource]
    assert len({r.country for r in crisis}) >= 10
    assert any(r.country == "INTL" for r in crisis)
    assert all(r.contact and r.contact.checked_on for r in crisis)
