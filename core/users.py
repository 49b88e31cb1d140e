"""The user profile record: only what the platform chose to share for personalisation.

A profile holds onboarding feature tokens (e.g. concern topics), a locale, an age band and
topic opt-outs. No names, contact details or free text: the user id is the platform's
opaque pseudonym.
"""

from __future__ import annotations

from dataclasses import dataclass, field

AGE_BANDS = ("13-15", "16-17", "18-24", "25-34", "35-44", "45-54", "55-64", "65+")
MINOR_AGE_BANDS = frozenset({"13-15", "16-17"})


@dataclass
class UserProfile:
    features: list[str] = field(default_factory=list)
    locale: str | None = None
    age_band: str | None = None
    opt_outs: list[str] = field(default_factory=list)

    @property
    def is_minor(self) -> bool:
        return self.age_band in MINOR_AGE_BANDS

    def to_json(self) -> dict[str, object]:
        return {
            "features": self.features, "locale": self.locale,
            "age_band": self.age_band, "opt_outs": self.opt_outs,
        }
