"""Event records: what users did with what was suggested, the window of times an event
may carry, and the confidence each event type gives.

Only opaque ids, types and times: never free text about a user. Times are UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.config import Settings

EVENT_TYPES = ("impression", "click", "start", "complete", "like", "dismiss", "report",
               "helpful", "not_helpful", "content_report", "distress", "mood_before", "mood_after")
# A mood check-in around an exercise: a score from 1 (very low) to 5 (very good), before and
# after; off unless the tenant's policy enables it. The change after minus before is what
# analytics reports (never a training signal, never logged).
MOOD_TYPES = frozenset({"mood_before", "mood_after"})
MOOD_SCORES = (1, 5)

# The person is in distress: crisis lines first for the risk window. ``report`` is the
# older name of ``distress``, kept as an alias for one version.
DISTRESS_TYPES = frozenset({"distress", "report"})
# Why a resource was reported as harmful, wrong or upsetting: a code, never free text.
CONTENT_REPORT_REASONS = ("harmful", "inaccurate", "upsetting", "out_of_date", "broken", "other")

# Confidence of each event type. Dismissals, content reports, distress and "not helpful"
# are negative: never positives. "Helpful" is the strongest positive there is.
DEFAULT_EVENT_WEIGHTS: dict[str, float] = {
    "impression": 0.0,
    "click": 1.0,
    "start": 2.0,
    "complete": 4.0,
    "like": 5.0,
    "helpful": 6.0,
    "dismiss": -1.0,
    "not_helpful": -1.0,
    "content_report": -5.0,
    "report": -5.0,
    "distress": -5.0,
    "mood_before": 0.0,
    "mood_after": 0.0,
}


@dataclass(frozen=True)
class TimeWindow:
    """The times an event may carry: from ``earliest`` (``SOLACE_EVENT_EARLIEST``) to
    ``latest``, the clock plus ``SOLACE_EVENT_MAX_FUTURE_SECONDS``. The API refuses
    events outside it; training skips stored rows outside it, which only a direct write
    to SQL (or an older Solace) can have put there."""

    earliest: datetime
    latest: datetime

    @classmethod
    def bounds(cls, earliest: datetime, max_future_seconds: float, now: datetime | None = None) -> "TimeWindow":
        now = now or datetime.now(UTC)
        return cls(as_utc(earliest), now + timedelta(seconds=max_future_seconds))

    @classmethod
    def of(cls, settings: Settings, now: datetime | None = None) -> "TimeWindow":
        """The window a deployment's settings give, at ``now``."""
        return cls.bounds(settings.event_earliest, settings.event_max_future_seconds, now)

    def contains(self, when: datetime) -> bool:
        return self.earliest <= as_utc(when) <= self.latest


def as_utc(when: datetime) -> datetime:
    """A zoned time in UTC; a time without zone (SQLite reads them back so) is UTC."""
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


@dataclass(frozen=True)
class Event:
    event_id: str
    user_id: str
    resource_id: str
    type: str
    timestamp: datetime
    recommendation_id: str | None = None
    reason: str | None = None  # content reports only: one of CONTENT_REPORT_REASONS
    score: int | None = None  # mood check-ins only: 1 to 5
