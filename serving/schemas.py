"""Request and response shapes of the HTTP API v1 (pydantic; the OpenAPI document is
generated from these)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, StrictInt, StringConstraints, model_validator

from core.events import CONTENT_REPORT_REASONS, EVENT_TYPES, MOOD_TYPES
from core.ids import opaque_user_id
from core.taxonomy import Topic
from core.users import AGE_BANDS

UserId = Annotated[str, AfterValidator(opaque_user_id)]


def utc_time(value: datetime) -> datetime:
    """The same instant in UTC (a time without zone is taken as UTC): events are compared
    with the server's clock and stored in UTC, and SQLite would drop an offset."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00:00+01:00 is in year 0 in UTC
        raise ValueError("time out of range") from None


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def no_control_characters(value: str) -> str:
    """Ids name things: no control character (tab, newline and carriage return included)
    belongs in one, and NUL cannot be stored at all."""
    if _CONTROL.search(value):
        raise ValueError("contains a control character; send printable text")
    return value


PrintableId = Annotated[str, AfterValidator(no_control_characters)]
ResourceTypeName = Literal["article", "exercise", "group"]
Locale = Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$", max_length=35)]
FeatureToken = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_:\-]{0,63}$")]
AgeBand = Literal[AGE_BANDS]  # type: ignore[valid-type]  # a Literal of the tuple's values, which pydantic accepts


def _split_types(value: str | None) -> list[str] | None:
    if value is None or value == "":
        return None
    parts = [p.strip() for p in value.split(",") if p.strip()]
    bad = [p for p in parts if p not in ("article", "exercise", "group")]
    if bad:
        raise ValueError(f"unknown type {bad[0]!r}; use article, exercise or group")
    return parts


# What a platform may ask to receive with each item (from the approved version), to
# render it in its own UI: body is plain text, steps a list of plain-text steps.
CONTENT_FIELDS = ("summary", "body", "steps", "duration_minutes", "format", "locales", "reading_level",
                  "content_warnings", "audience", "group", "contact", "country")
ContentField = Literal[CONTENT_FIELDS]  # type: ignore[valid-type]  # a Literal of the tuple's values


def _split_fields(value: str | None) -> list[str] | None:
    if value is None:
        return None
    names = [v.strip() for v in value.split(",") if v.strip()]
    unknown = [n for n in names if n not in CONTENT_FIELDS]
    if unknown:
        raise ValueError(f"unknown field {unknown[0]!r}; choose from {', '.join(CONTENT_FIELDS)}")
    return names


class RecommendationQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    k: int = Field(default=10, ge=1, le=100, description="How many suggestions.")
    types: Annotated[str | None, AfterValidator(_split_types)] = Field(
        default=None, description="Comma-separated subset of article,exercise,group."
    )
    locale: Locale | None = None
    explain: bool = Field(default=True, description="Add a plain-language reason per item.")
    fields: Annotated[str | None, AfterValidator(_split_fields)] = Field(
        default=None, description="Comma-separated content to return with each item under `content` "
        f"(from the approved version): {', '.join(CONTENT_FIELDS)}.")


class RequestContext(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str | None = Field(
        default=None, max_length=2000,
        description="What the user is reading or searching. Used for this request only; never stored or logged.",
    )
    risk: StrictBool = Field(default=False, description="The platform's own signal that the user may be at risk.")


class RecommendationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user_id: UserId | None = None
    features: list[FeatureToken] = Field(
        default_factory=list, max_length=50,
        description="Onboarding features, e.g. topic:sleep (topics the user chose).",
    )
    locale: Locale | None = None
    age_band: AgeBand | None = None
    context: RequestContext = Field(default_factory=RequestContext)
    # a JSON body is typed exactly: true is not 1 and "5" is not 5
    k: StrictInt = Field(default=10, ge=1, le=100)
    types: list[ResourceTypeName] | None = None
    explain: StrictBool = True
    fields: list[ContentField] = Field(default_factory=list, description="Content to return with each item "
                                       "under `content` (from the approved version).")


class RecommendedItem(BaseModel):
    resource_id: str
    type: ResourceTypeName
    title: str
    url: str | None
    score: float | None = Field(description="Model score; null for crisis resources placed first.")
    reason: str | None = None
    topics: list[str] = Field(default_factory=list)
    is_crisis_resource: bool = False
    next_session: datetime | None = Field(default=None, description="Groups: the next session start (ISO 8601, group's time zone).")
    contact: dict[str, str] | None = Field(default=None, description="Crisis resources: phone, text, web and hours.")
    content: dict[str, object] | None = Field(default=None, description="What `fields` asked for, from the approved version.")


RISK_LEVEL_DESCRIPTION = (
    "What the request signals: `crisis` (risk now: the locale's crisis lines come first), "
    "`concern` (distress, past self-harm or worry for someone else: support content comes first, "
    "no hotline is forced) or `none`."
)


class ExperimentArmRef(BaseModel):
    experiment_id: str
    arm: str


class RecommendationResponse(BaseModel):
    recommendation_id: str = Field(description=(
        "Send it back with the events this answer causes. Inside an experiment it has the form "
        "`<24 hex>.<experiment>.<arm>`, which credits those events to the arm."))
    model_version: str | None
    crisis: bool = False
    risk: Literal["none", "concern", "crisis"] = Field(default="none", description=RISK_LEVEL_DESCRIPTION)
    degraded: bool = False
    source: Literal["personalised", "features", "context", "popular"] = "personalised"
    experiment: ExperimentArmRef | None = Field(default=None, description=(
        "The running experiment and arm this user's list came from (null: the active model)."))
    items: list[RecommendedItem]


class ItemsResponse(BaseModel):
    items: list[RecommendedItem]


class SearchResponse(BaseModel):
    crisis: bool = False
    risk: Literal["none", "concern", "crisis"] = Field(default="none", description=RISK_LEVEL_DESCRIPTION)
    items: list[RecommendedItem]


class EventIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    event_id: Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:\-]+$")]
    user_id: UserId
    resource_id: Annotated[PrintableId, StringConstraints(min_length=1, max_length=80)]
    type: Literal[EVENT_TYPES]  # type: ignore[valid-type]  # a Literal of the tuple's values, which pydantic accepts
    timestamp: Annotated[datetime, AfterValidator(utc_time)] = Field(
        description="When it happened (ISO 8601; no zone: UTC). Not before SOLACE_EVENT_EARLIEST "
        "(default 2000-01-01) and at most SOLACE_EVENT_MAX_FUTURE_SECONDS (default a day) ahead.")
    recommendation_id: Annotated[PrintableId, StringConstraints(max_length=64)] | None = None
    reason: Literal[CONTENT_REPORT_REASONS] | None = Field(  # type: ignore[valid-type]  # a Literal of the tuple's values
        default=None, description="Content reports only, and required there: why the resource was reported "
        "(a code, never free text).")
    score: StrictInt | None = Field(default=None, ge=1, le=5, description=(
        "Mood check-ins only (`mood_before`, `mood_after`), and required there: 1 (very low) to 5 (very "
        "good). Accepted only from tenants whose policy enables `mood_checkins`."))

    @model_validator(mode="after")
    def _reason_only_for_content_reports(self) -> "EventIn":
        if self.type == "content_report" and self.reason is None:
            raise ValueError("reason: a content_report needs a reason code")
        if self.type != "content_report" and self.reason is not None:
            raise ValueError("reason: only a content_report carries a reason")
        if self.type in MOOD_TYPES and self.score is None:
            raise ValueError("score: a mood check-in needs a score from 1 to 5")
        if self.type not in MOOD_TYPES and self.score is not None:
            raise ValueError("score: only a mood check-in carries a score")
        return self


class EventBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    events: list[EventIn] = Field(min_length=1)


class EventBatchResponse(BaseModel):
    accepted: int
    duplicates: int


class UserProfileIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    features: list[FeatureToken] = Field(default_factory=list, max_length=50)
    locale: Locale | None = None
    age_band: AgeBand | None = None
    opt_outs: list[Topic] = Field(default_factory=list, description="Topics never to suggest.")


class SearchQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    q: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
    k: int = Field(default=10, ge=1, le=100)
    types: Annotated[str | None, AfterValidator(_split_types)] = None
    locale: Locale | None = None


class SimilarQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    k: int = Field(default=10, ge=1, le=100)


class ErrorBody(BaseModel):
    code: str
    message: str
    field: str | None = None


class ErrorResponse(BaseModel):
    error: ErrorBody
