"""A simulated interaction history, so the quick start has something to learn from.

Every simulated user has latent needs (one to three topics) and engages mostly with
resources on those topics; a few stray clicks and dismissals add noise. The truth is
returned beside the events so tests can check that a trained model recovers it. All of it
is labelled simulated: event source ``simulated`` and user ids starting ``sim-``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from content_catalog.schema import Resource
from core.events import Event
from core.users import AGE_BANDS, UserProfile

SIMULATED_SOURCE = "simulated"
SIMULATED_PREFIX = "sim-"

# How common each need is among simulated users (the rest share what is left evenly).
_TOPIC_PREVALENCE = {
    "social-comparison": 4.0, "anxiety": 4.0, "stress": 3.5, "loneliness": 3.0, "sleep": 3.0,
    "depression": 2.5, "self-esteem": 2.5, "cyberbullying": 2.0, "body-image": 2.0,
    "digital-wellbeing": 2.0, "relationships": 1.5, "workplace": 1.5,
}


@dataclass(frozen=True)
class SimulatedHistory:
    events: list[Event]
    profiles: dict[str, UserProfile]
    needs: dict[str, list[str]]


def simulate_history(
    catalog: list[Resource],
    n_users: int = 600,
    random_state: int = 42,
    now: datetime | None = None,
) -> SimulatedHistory:
    rng = np.random.default_rng(random_state)
    now = now or datetime.now(UTC)
    items = [r for r in catalog if not r.is_crisis_resource]
    if not items:
        raise ValueError("the catalog has no non-crisis resources to simulate interactions with")
    topics = sorted({t for r in items for t in r.topics})
    weights = np.array([_TOPIC_PREVALENCE.get(t, 1.0) for t in topics])
    weights = weights / weights.sum()
    by_topic = {t: [n for n, r in enumerate(items) if t in r.topics] for t in topics}
    # Some resources simply land better than others: a quality every user feels.
    quality = rng.lognormal(mean=0.0, sigma=0.6, size=len(items))

    events: list[Event] = []
    profiles: dict[str, UserProfile] = {}
    needs: dict[str, list[str]] = {}
    for u in range(n_users):
        user = f"{SIMULATED_PREFIX}{u:05d}"
        n_needs = int(rng.choice([1, 2, 3], p=[0.45, 0.4, 0.15]))
        user_needs = list(rng.choice(topics, size=min(n_needs, len(topics)), replace=False, p=weights))
        needs[user] = user_needs
        # Onboarding: most users name one of their needs, a few name an unrelated topic.
        chosen: list[str] = []
        if rng.random() < 0.7:
            chosen.append(f"topic:{user_needs[0]}")
        if rng.random() < 0.15:
            chosen.append(f"topic:{rng.choice(topics)}")
        band = str(rng.choice(AGE_BANDS, p=[0.05, 0.07, 0.3, 0.25, 0.14, 0.09, 0.06, 0.04]))
        profiles[user] = UserProfile(features=sorted(set(chosen)), locale="en", age_band=band)

        relevant = sorted({n for t in user_needs for n in by_topic.get(t, [])})
        n_touches = int(rng.integers(6, 26))
        start = now - timedelta(days=float(rng.uniform(10, 60)))
        for step in range(n_touches):
            on_need = relevant and rng.random() < 0.85
            pool = relevant if on_need else list(range(len(items)))
            p = quality[pool] / quality[pool].sum()
            item = items[int(rng.choice(pool, p=p))]
            ts = start + timedelta(hours=float(step * rng.uniform(2, 30)))
            if ts > now:
                ts = now - timedelta(minutes=int(rng.integers(1, 600)))
            kinds = ["impression"]
            if on_need:
                if rng.random() < 0.8:
                    kinds.append("click")
                    if rng.random() < 0.75:
                        kinds.append("start")
                        if rng.random() < 0.7:
                            kinds.append("complete")
                            if rng.random() < 0.35:
                                kinds.append("like")
            elif rng.random() < 0.3:
                kinds.append("dismiss")
            elif rng.random() < 0.2:
                kinds.append("click")
            for offset, kind in enumerate(kinds):
                events.append(
                    Event(
                        event_id=f"sim-{u:05d}-{step:03d}-{kind}",
                        user_id=user, resource_id=item.id, type=kind,
                        timestamp=ts + timedelta(minutes=offset * 3),
                    )
                )
    return SimulatedHistory(events=events, profiles=profiles, needs=needs)
