"""The shape of a catalog resource, validated with pydantic.

One schema serves the importer, the editor API and the seed catalog, so a record that
passes here is safe to store and to serve. Errors name the field, which the CLI and the
API turn into ``file, record, field, reason`` messages.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import langcodes
from pydantic import (
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from core.taxonomy import (
    Audience,
    Format,
    Modality,
    ReadingLevel,
    ResourceType,
    ReviewStatus,
    Topic,
    Weekday,
)

SLUG_RE = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
Slug = Annotated[str, StringConstraints(pattern=SLUG_RE, min_length=3, max_length=80)]
Tag = Annotated[str, StringConstraints(pattern=SLUG_RE, min_length=2, max_length=40)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=160)]

_WEEKDAY_INDEX = {d.value: i for i, d in enumerate(Weekday)}


def _check_locale(value: str) -> str:
    if not langcodes.tag_is_valid(value):
        raise ValueError(f"{value!r} is not a valid BCP 47 language tag")
    return langcodes.standardize_tag(value)


class WeeklySlot(BaseModel):
    model_config = ConfigDict(extra="forbid")

    weekday: Weekday
    start: time


class GroupSchedule(BaseModel):
    """A weekly rhythm in the group's own time zone; concrete sessions are derived."""

    model_config = ConfigDict(extra="forbid")

    timezone: str
    weekly: list[WeeklySlot] = Field(min_length=1)
    session_minutes: int = Field(ge=10, le=480)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA time zone {value!r}") from exc
        return value

    def next_sessions(self, after: datetime, count: int = 3) -> list[datetime]:
        """Upcoming session starts, timezone-aware, in the group's zone."""
        zone = ZoneInfo(self.timezone)
        local = after.astimezone(zone)
        found: list[datetime] = []
        for day_offset in range(0, 7 * (count + 1)):
            day = (local + timedelta(days=day_offset)).date()
            for slot in self.weekly:
                if day.weekday() != _WEEKDAY_INDEX[slot.weekday]:
                    continue
                start = datetime.combine(day, slot.start, tzinfo=zone)
                if start > local:
                    found.append(start)
        return sorted(found)[:count]


class GroupDetails(BaseModel):
    model_config = ConfigDict(extra="forbid")

    facilitator_credential: ShortText
    modality: Modality
    location: str | None = Field(default=None, max_length=160)
    schedule: GroupSchedule
    capacity: int = Field(ge=0, le=10_000)
    cost: str = Field(default="free", max_length=80)

    @model_validator(mode="after")
    def _in_person_needs_place(self) -> "GroupDetails":
        if self.modality == Modality.IN_PERSON and not self.location:
            raise ValueError("an in-person group needs a location")
        return self


class CrisisContact(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: ShortText
    phone: str | None = Field(default=None, max_length=40)
    text: str | None = Field(default=None, max_length=80)
    web: AnyHttpUrl | None = None
    hours: str = Field(default="24/7", max_length=80)
    checked_on: date

    @field_validator("phone")
    @classmethod
    def _phone_digits(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[0-9+ ()\-]{2,40}", value):
            raise ValueError("a phone number holds digits, spaces, +, ( ) and - only")
        return value

    @model_validator(mode="after")
    def _one_channel(self) -> "CrisisContact":
        if not (self.phone or self.text or self.web):
            raise ValueError("a crisis contact needs at least one channel: phone, text or web")
        return self


class Resource(BaseModel):
    """A piece of self-help content, an exercise, a support group or a crisis line."""

    model_config = ConfigDict(extra="forbid", use_enum_values=True)

    id: Slug
    type: ResourceType
    title: ShortText
    summary: Annotated[str, StringConstraints(strip_whitespace=True, min_length=10, max_length=600)]
    body: str | None = Field(default=None, max_length=20_000)
    steps: list[Annotated[str, StringConstraints(min_length=3, max_length=600)]] = Field(
        default_factory=list
    )
    url: AnyHttpUrl | None = None
    topics: list[Topic] = Field(min_length=1, max_length=6)
    tags: list[Tag] = Field(default_factory=list, max_length=20)
    locales: list[str] = Field(default_factory=lambda: ["en"], min_length=1)
    format: Format = Format.TEXT
    duration_minutes: int = Field(ge=1, le=600)
    reading_level: ReadingLevel = ReadingLevel.STANDARD
    content_warnings: list[Tag] = Field(default_factory=list)
    audience: Audience = Audience.ALL
    status: ReviewStatus = ReviewStatus.DRAFT
    reviewed_by: str | None = Field(default=None, max_length=80)
    reviewed_at: datetime | None = None
    group: GroupDetails | None = None
    is_crisis_resource: bool = False
    country: Annotated[str, StringConstraints(pattern=r"^([A-Z]{2}|INTL)$")] | None = None
    contact: CrisisContact | None = None

    @field_validator("locales")
    @classmethod
    def _valid_locales(cls, values: list[str]) -> list[str]:
        return [_check_locale(v) for v in values]

    @field_validator("topics", "tags", "content_warnings")
    @classmethod
    def _unique(cls, values: list[Any]) -> list[Any]:
        if len(set(values)) != len(values):
            raise ValueError("values must not repeat")
        return values

    @model_validator(mode="after")
    def _type_rules(self) -> "Resource":
        if self.type == ResourceType.ARTICLE and not self.body:
            raise ValueError("an article needs a body")
        if self.type == ResourceType.EXERCISE and len(self.steps) < 2:
            raise ValueError("an exercise needs at least two steps")
        if self.type == ResourceType.GROUP and self.group is None:
            raise ValueError("a group listing needs its group details")
        if self.type != ResourceType.GROUP and self.group is not None:
            raise ValueError("only a group listing has group details")
        if self.is_crisis_resource:
            if not self.country:
                raise ValueError("a crisis resource needs a country (ISO 3166 code or INTL)")
            if self.contact is None:
                raise ValueError("a crisis resource needs a contact with at least one channel")
        if self.status == ReviewStatus.APPROVED and not self.reviewed_by:
            raise ValueError("an approved resource names its reviewer")
        return self

    def text_for_embedding(self) -> str:
        """The words that describe what the resource helps with, for the sentence encoder."""
        parts = [self.title, self.summary, " ".join(self.topics), " ".join(self.tags)]
        if self.steps:
            parts.append(" ".join(self.steps[:3]))
        elif self.body:
            parts.append(self.body[:600])
        return ". ".join(p for p in parts if p)
