"""Plain-language reasons for a suggestion, built only from what the user did or chose.

Reasons never mention sensitive inferences ("we think you are depressed"); they point at
the user's own actions or stated interests, or say plainly that an item is popular.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from core.taxonomy import SENSITIVE_TOPICS
from recommender.catalog_view import CatalogView

SIMILARITY_FOR_BECAUSE = 0.6


def _topic_words(topic: str) -> str:
    return topic.replace("-", " ")


def reason_for(
    view: CatalogView,
    row: int,
    source: str,
    history_rows: Sequence[int] = (),
    interest_topics: Sequence[str] = (),
    embeddings: np.ndarray | None = None,
) -> str:
    card = view.cards[row] or {}
    if card.get("is_crisis_resource"):
        return "Free, confidential support you can reach right now"
    if source == "context":
        return "Related to what you are reading"
    if history_rows and embeddings is not None:
        sims = embeddings[list(history_rows)] @ embeddings[row]
        best = int(np.argmax(sims))
        if float(sims[best]) >= SIMILARITY_FOR_BECAUSE:
            done = view.cards[history_rows[best]] or {}
            if done.get("title"):
                return f"Because you finished “{done['title']}”"
    item_topics = card.get("topics", [])
    shared = [t for t in interest_topics if t in item_topics]
    if shared:
        return f"Matches your interest in {_topic_words(shared[0])}"
    # a topic the person did not choose is never named if it is a heavy one: nobody should
    # read "Suggested for self harm" because of what a model guessed
    light = [t for t in item_topics if t not in UNCHOSEN_UNSAID]
    if source == "popular" and light:
        return f"Popular with people exploring {_topic_words(light[0])}"
    if light:
        return f"Suggested for {_topic_words(light[0])}"
    return _PLAIN_BY_TYPE.get(str(card.get("type")), "Suggested for you")


def support_reason(view: CatalogView, row: int) -> str:
    """The reason next to support content chosen for a hard moment: kind, not a label."""
    card = view.cards[row] or {}
    if card.get("type") == "exercise":
        return "Something you can try right now"
    return "Something that may help right now"


# Topics never named to a person who did not choose them.
UNCHOSEN_UNSAID = frozenset(SENSITIVE_TOPICS | {"trauma", "substance-use", "depression", "grief"})
_PLAIN_BY_TYPE = {
    "article": "A short read you might find useful",
    "exercise": "A practical exercise you can try",
    "group": "A group where people support each other",
}


def chosen_topics(features: Sequence[str]) -> list[str]:
    """The topics a person chose at onboarding, from their ``topic:x`` features."""
    return [f.split(":", 1)[1] for f in features if f.startswith("topic:")]


def interest_topics_from(
    view: CatalogView, history_rows: Sequence[int], features: Sequence[str]
) -> list[str]:
    """Topics the user chose (``topic:x`` features) first, then their most engaged topics."""
    chosen = chosen_topics(features)
    counts: dict[str, int] = {}
    for row in history_rows:
        for t in view.topics_of(row):
            counts[t] = counts.get(t, 0) + 1
    engaged = sorted(counts, key=lambda t: -counts[t])
    return chosen + [t for t in engaged if t not in chosen]
