"""The servable catalog as arrays aligned with a model's item rows.

Serving filters candidates with vectorised masks rather than per-item Python checks; this
view precomputes those masks once per (model version, catalog version) pair. A card with an
``owner_tenant`` is a tenant's private resource: :meth:`CatalogView.servable_for` shows it
to that tenant's requests only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

from core.taxonomy import SENSITIVE_TOPICS, SKILL_TOPICS, TOPICS, ResourceType

HEAVY_WARNINGS = frozenset(
    {"self-harm", "suicide", "eating-disorder", "abuse", "sexual-violence", "trauma", "violence"}
)
# Content that helps in a hard moment, for the items next to a crisis line or a concern:
# coping with urges, safety planning, reasons for living, grounding, reaching out.
COPING_TAGS = frozenset({
    "coping", "urges", "urge-surfing", "distress-tolerance", "coping-plan", "safety-plan",
    "reasons-for-living", "hope", "grounding", "breathing", "getting-help", "reaching-out", "opening-up",
})
# Next to crisis lines: content about self-harm and suicide that helps (urges, safety plans,
# reasons for living) first, then exercises that calm the body in minutes.
CRISIS_TOPICS = frozenset({"self-harm", "suicide-prevention"})
CALMING_TAGS = frozenset({"grounding", "breathing", "distress-tolerance"})
# Content for someone worried about another person.
HELPING_TAGS = frozenset({"supporting-others", "warning-signs", "difficult-conversation"})
TYPE_CODES = {t.value: n for n, t in enumerate(ResourceType)}
TOPIC_INDEX = {t: n for n, t in enumerate(TOPICS)}


def language_of(locale: str) -> str:
    return locale.split("-", 1)[0].lower()


def region_of(locale: str | None) -> str | None:
    if not locale:
        return None
    parts = locale.replace("_", "-").split("-")
    for part in parts[1:]:
        if len(part) == 2 and part.isalpha():
            return part.upper()
    return None


@dataclass
class CatalogView:
    item_ids: list[str]
    cards: list[dict[str, Any] | None]  # None: not servable (not approved, retired, unknown)
    servable: np.ndarray  # bool
    type_code: np.ndarray  # int8
    topics: np.ndarray  # bool (n_items, n_topics)
    adult: np.ndarray  # bool
    minor_excluded: np.ndarray  # bool: withheld from under-18s
    heavy: np.ndarray  # bool
    crisis: np.ndarray  # bool
    skill: np.ndarray  # bool
    group_full: np.ndarray  # bool: a group with no free places or no upcoming session
    languages: list[frozenset[str]]
    tie_bonus: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float32))
    topic_ids: list[tuple[int, ...]] = field(default_factory=list)
    owners: list[str | None] = field(default_factory=list)  # None: the global catalog
    coping: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))  # helps in a hard moment
    helping: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))  # helps support someone else
    # next to crisis lines: 2 = coping content on self-harm or suicide, 1 = a calming exercise, 0 = neither
    crisis_support: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int8))
    # in-person groups and the regions (ISO 3166 alpha-2) where they meet: from the
    # resource's country, else the regions of its locales ("de-DE" -> DE)
    in_person: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    regions: list[frozenset[str]] = field(default_factory=list)
    # sent back to clinical review by their outcomes (never a crisis line): paused for
    # tenants whose policy says so
    flagged: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    _tenant_masks: dict[str | None, np.ndarray] = field(default_factory=dict, repr=False)
    _language_masks: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    # Candidate masks by request shape, filled by recommender.policy (the view is immutable).
    memo: dict[object, Any] = field(default_factory=dict, repr=False)
    # What serving shows of each row that does not change per request, filled on first use.
    served: dict[int, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def build(
        cls, item_ids: Sequence[str], cards: Mapping[str, dict[str, Any]],
        now: datetime | None = None,
    ) -> "CatalogView":
        n = len(item_ids)
        now = now or datetime.now(UTC)
        aligned: list[dict[str, Any] | None] = [cards.get(i) for i in item_ids]
        servable = np.array([c is not None for c in aligned], dtype=bool)
        type_code = np.full(n, -1, dtype=np.int8)
        topics = np.zeros((n, len(TOPICS)), dtype=bool)
        adult = np.zeros(n, dtype=bool)
        minor_excluded = np.zeros(n, dtype=bool)
        heavy = np.zeros(n, dtype=bool)
        crisis = np.zeros(n, dtype=bool)
        skill = np.zeros(n, dtype=bool)
        group_full = np.zeros(n, dtype=bool)
        languages: list[frozenset[str]] = []
        for row, card in enumerate(aligned):
            if card is None:
                languages.append(frozenset())
                continue
            type_code[row] = TYPE_CODES.get(card["type"], -1)
            card_topics = card.get("topics", [])
            for t in card_topics:
                if t in TOPIC_INDEX:
                    topics[row, TOPIC_INDEX[t]] = True
            is_crisis = bool(card.get("is_crisis_resource"))
            crisis[row] = is_crisis
            adult[row] = card.get("audience") == "adult"
            minor_excluded[row] = adult[row] or (
                not is_crisis and card["type"] != "group"
                and any(t in SENSITIVE_TOPICS for t in card_topics)
            )
            heavy[row] = any(w in HEAVY_WARNINGS for w in card.get("content_warnings", []))
            skill[row] = any(t in SKILL_TOPICS for t in card_topics)
            group = card.get("group")
            if group is not None:
                group_full[row] = int(group.get("capacity", 0)) <= 0
            languages.append(frozenset(language_of(loc) for loc in card.get("locales", ["en"])))
        # Skills and recovery content wins ties (a nudge far below any real score gap).
        tie_bonus = (skill * 1e-6).astype(np.float32)
        topic_ids = [tuple(int(t) for t in np.flatnonzero(row)) for row in topics]
        owners = [c.get("owner_tenant") if c is not None else None for c in aligned]
        tags = [frozenset(c.get("tags", [])) if c is not None else frozenset() for c in aligned]
        helping = np.array([bool(t & HELPING_TAGS) for t in tags], dtype=bool) & ~crisis
        coping = np.array([bool(t & COPING_TAGS) for t in tags], dtype=bool) & ~crisis & ~helping
        topical = np.array([bool(set(c.get("topics", [])) & CRISIS_TOPICS) if c else False for c in aligned], dtype=bool)
        calming = np.array([bool(t & CALMING_TAGS) for t in tags], dtype=bool) & (type_code == TYPE_CODES["exercise"])
        crisis_support = np.where(coping & topical, 2, np.where(calming & ~crisis, 1, 0)).astype(np.int8)
        in_person = np.array([bool(c and (c.get("group") or {}).get("modality") == "in_person") for c in aligned],
                             dtype=bool)
        regions = [_regions_of(c) if c is not None else frozenset() for c in aligned]
        flagged = np.array([bool(c and c.get("flagged")) for c in aligned], dtype=bool) & ~crisis
        return cls(
            list(item_ids), aligned, servable, type_code, topics, adult, minor_excluded, heavy,
            crisis, skill, group_full, languages, tie_bonus, topic_ids, owners, coping=coping, helping=helping,
            crisis_support=crisis_support, in_person=in_person, regions=regions, flagged=flagged,
        )

    def servable_for(self, tenant: str | None) -> np.ndarray:
        """Servable items a request of ``tenant`` may get: the global catalog plus that
        tenant's private resources (None: the global catalog only). Memoised per tenant."""
        mask = self._tenant_masks.get(tenant)
        if mask is None:
            owned = [o is None or o == tenant for o in self.owners] if self.owners else [True] * len(self.item_ids)
            mask = self.servable & np.array(owned, dtype=bool)
            mask.setflags(write=False)
            if len(self._tenant_masks) > 1024:  # bounded: one entry per tenant seen
                self._tenant_masks.clear()
            self._tenant_masks[tenant] = mask
        return mask

    def meets_in(self, region: str | None) -> np.ndarray:
        """Items a request from ``region`` may get as far as place goes: everything but the
        in-person groups that meet elsewhere (or, with no region known, every in-person
        group: nobody is sent to a room in a city they may not live in)."""
        key = f"region:{region or ''}"
        mask = self._language_masks.get(key)
        if mask is None:
            here = np.array([bool(region) and region in r for r in self.regions], dtype=bool)
            mask = ~self.in_person | here if self.in_person.shape[0] else np.ones(len(self.item_ids), dtype=bool)
            mask.setflags(write=False)
            self._language_masks[key] = mask
        return mask

    def language_mask(self, locale: str | None) -> np.ndarray:
        """Items available in the locale's language (memoised: this runs per request)."""
        lang = language_of(locale) if locale else ""
        mask = self._language_masks.get(lang)
        if mask is None:
            if not lang:
                mask = np.ones(len(self.item_ids), dtype=bool)
            else:
                mask = np.array([lang in langs for langs in self.languages], dtype=bool)
            mask.setflags(write=False)
            self._language_masks[lang] = mask
        return mask

    def topics_of(self, row: int) -> list[str]:
        card = self.cards[row]
        return list(card.get("topics", [])) if card else []


def _regions_of(card: Mapping[str, Any]) -> frozenset[str]:
    country = card.get("country")
    if country and country != "INTL":
        return frozenset({str(country)})
    return frozenset(r for r in (region_of(loc) for loc in card.get("locales", [])) if r)
