"""The closed vocabularies of the catalog.

Kept in one place so that validation, feature building, the safety policy and the
documentation all agree on the same words.
"""

from __future__ import annotations

from enum import StrEnum


class Topic(StrEnum):
    ANXIETY = "anxiety"
    DEPRESSION = "depression"
    STRESS = "stress"
    SLEEP = "sleep"
    LONELINESS = "loneliness"
    SELF_ESTEEM = "self-esteem"
    BODY_IMAGE = "body-image"
    SOCIAL_COMPARISON = "social-comparison"
    CYBERBULLYING = "cyberbullying"
    DIGITAL_WELLBEING = "digital-wellbeing"
    RELATIONSHIPS = "relationships"
    FAMILY = "family"
    PARENTING = "parenting"
    GRIEF = "grief"
    ANGER = "anger"
    TRAUMA = "trauma"
    SUBSTANCE_USE = "substance-use"
    EATING_DISORDERS = "eating-disorders"
    SELF_HARM = "self-harm"
    SUICIDE_PREVENTION = "suicide-prevention"
    LGBTQ = "lgbtq"
    WORKPLACE = "workplace"
    MINDFULNESS = "mindfulness"
    RESILIENCE = "resilience"


TOPICS: tuple[str, ...] = tuple(t.value for t in Topic)

# Topics whose detailed content is withheld from minors (support and crisis resources stay).
SENSITIVE_TOPICS: frozenset[str] = frozenset(
    {Topic.SELF_HARM, Topic.SUICIDE_PREVENTION, Topic.EATING_DISORDERS}
)

# Skills and recovery-oriented topics favoured on ties by the balance policy.
SKILL_TOPICS: frozenset[str] = frozenset(
    {Topic.MINDFULNESS, Topic.RESILIENCE, Topic.SLEEP, Topic.STRESS, Topic.LONELINESS}
)


class ResourceType(StrEnum):
    ARTICLE = "article"
    EXERCISE = "exercise"
    GROUP = "group"


class Format(StrEnum):
    TEXT = "text"
    AUDIO = "audio"
    VIDEO = "video"
    LIVE = "live"


class Audience(StrEnum):
    ALL = "all"
    ADULT = "adult"


class ReadingLevel(StrEnum):
    EASY = "easy"
    STANDARD = "standard"
    ADVANCED = "advanced"


class ReviewStatus(StrEnum):
    DRAFT = "draft"
    IN_REVIEW = "in_review"
    APPROVED = "approved"
    RETIRED = "retired"


class Modality(StrEnum):
    ONLINE = "online"
    IN_PERSON = "in_person"


class Weekday(StrEnum):
    MON = "mon"
    TUE = "tue"
    WED = "wed"
    THU = "thu"
    FRI = "fri"
    SAT = "sat"
    SUN = "sun"
