"""Detecting crisis language in transient context text, tuned for recall.

A lexicon of phrases, matched after normalising the spellings people use to dodge
filters (leetspeak, spaced letters, repeated letters, "sewerslide", "unalive"). Hyperbole
such as "this exam is killing me" is excluded by requiring a first-person or intent frame
for the ambiguous verbs. The text is inspected in memory only and never stored or logged.
"""

from __future__ import annotations

import re
import unicodedata
from importlib import resources as importlib_resources
from typing import TYPE_CHECKING

import numpy as np
import yaml

if TYPE_CHECKING:
    from training.embed import EncoderLike

_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i", "|": "i"})

# Phrases that signal risk on their own, after normalisation.
_DIRECT = [
    r"\bsuicid\w*", r"\bsewer ?slide\b", r"\bsui ?side\b", r"\bunaliv\w*", r"\bkms\b",
    r"\bkill(ing)? my ?self\b", r"\bkil+ my ?self\b", r"\bend(ing)? (it all|my life|things|it tonight)\b",
    r"\bend my own life\b", r"\btake my (own )?life\b", r"\btaking my (own )?life\b",
    r"\b(want|wanna|going|gonna|ready|plan(ning)?) to die\b", r"\bwant(ed)? to be dead\b",
    r"\bwish i (was|were) dead\b", r"\bwish i (was|were)n'?t (alive|here|born)\b",
    r"\bbetter off (dead|without me)\b", r"\bno reason to (live|go on|keep going)\b",
    r"\bdon'?t want to (be alive|live|exist|be here anymore|wake up)\b",
    r"\bnever wake up\b", r"\bnot wake up\b", r"\bcan'?t go on\b", r"\bcan'?t do this anymore\b",
    r"\bself ?harm\w*", r"\bhurt(ing)? my ?self\b", r"\bcut(ting)? my ?self\b", r"\bcutting again\b",
    r"\bharm(ing)? my ?self\b", r"\bpunish(ing)? my ?self\b", r"\bstarv(e|ing) my ?self\b",
    r"\bkys\b.*\b(me|myself|i)\b", r"\bi should kys\b", r"\bgoodbye (forever|everyone|world)\b",
    r"\bdisappear forever\b", r"\bno way out\b", r"\bnothing to live for\b",
    r"\bwrote (a|my) (suicide )?note\b", r"\boverdos\w*", r"\bod tonight\b",
    r"\bend the pain\b", r"\bwant (it|everything|the pain) to (stop|end)\b.*\b(forever|for good)\b",
    r"\bdon'?t want to be here\b", r"\bi want out\b", r"\bcatch the bus\b",
]
# Ambiguous words that count only inside a first-person frame.
_FIRST_PERSON = r"\b(i|im|i'm|i am|me|my|myself|ive|i've)\b"
_AMBIGUOUS = [
    r"\bdie\b", r"\bdead\b", r"\bkill\b", r"\bcut\b", r"\bhurt\b", r"\bdisappear\b",
    r"\bend it\b", r"\bgive up\b", r"\bburden\b",
]
_HYPERBOLE = [
    r"\bkilling me\b", r"\bi'?m dead\b", r"\bdying (to|of laughter|for)\b", r"\bdied laughing\b",
    r"\bcould die\b", r"\bkilled it\b", r"\b(lol|lmao|haha|😂|🤣)\b", r"\bcould (murder|kill) (a|for)\b",
    r"\bdead tired\b", r"\bkill (the|some) (time|weeds|bugs|lights|process)\b",
]
_DIRECT_RE = [re.compile(p) for p in _DIRECT]
_AMBIGUOUS_RE = [re.compile(p) for p in _AMBIGUOUS]
_HYPERBOLE_RE = [re.compile(p) for p in _HYPERBOLE]
_FIRST_PERSON_RE = re.compile(_FIRST_PERSON)
_INTENT_RE = re.compile(
    r"\b(want|wanna|going|gonna|should|wish|plan|ready|think about|thinking about|thoughts of|urge)\b"
)


def normalise(text: str) -> str:
    """Lower case, accents and leetspeak undone, spaced letters joined, repeats squeezed."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    text = text.replace("’", "'")
    text = text.translate(_LEET)
    # "s u i c i d e" or "s.u.i.c.i.d.e" -> "suicide"
    text = re.sub(
        r"\b(?:[a-z][ .\-_*]){3,}[a-z]\b",
        lambda m: re.sub(r"[ .\-_*]", "", m.group(0)),
        text,
    )
    text = re.sub(r"([a-z])\1{2,}", r"\1\1", text)
    text = re.sub(r"[^a-z0-9' ]+", " ", text)
    return re.sub(r"\s+", " ", text).strip()


def lexicon_match(text: str) -> bool:
    norm = normalise(text)
    if any(p.search(norm) for p in _DIRECT_RE):
        return True
    if any(p.search(norm) for p in _HYPERBOLE_RE):
        return False
    if _FIRST_PERSON_RE.search(norm) and _INTENT_RE.search(norm):
        return any(p.search(norm) for p in _AMBIGUOUS_RE)
    return False


class EmbeddingCrisisDetector:
    """Nearest-exemplar check in sentence-embedding space, for phrasings no lexicon lists.

    A text is flagged when its closest risk exemplar is at least ``threshold`` similar and
    closer than its closest safe exemplar by ``margin``; or, tuned for recall, when it is
    only ``loose_threshold`` similar but far clearer of the safe exemplars
    (``loose_margin``).
    """

    def __init__(
        self, encoder: "EncoderLike", threshold: float = 0.55, margin: float = 0.03,
        loose_threshold: float = 0.45, loose_margin: float = 0.15,
    ) -> None:
        data = yaml.safe_load(
            (importlib_resources.files("recommender") / "data" / "crisis_exemplars.yaml").read_text("utf-8")
        )
        self.encoder = encoder
        self.threshold = threshold
        self.margin = margin
        self.loose_threshold = loose_threshold
        self.loose_margin = loose_margin
        self.risk = encoder.encode(list(data["risk"]))
        self.safe = encoder.encode(list(data["safe"]))

    def similarity(self, text: str) -> tuple[float, float]:
        return self.vector_similarity(self.encoder.encode([text])[0])

    def vector_similarity(self, vec: np.ndarray) -> tuple[float, float]:
        return float((self.risk @ vec).max()), float((self.safe @ vec).max())

    def __call__(self, text: str) -> bool:
        return self.flags(self.encoder.encode([text])[0])

    def flags(self, vec: np.ndarray) -> bool:
        """The decision for an already-encoded text (serving encodes a context text once)."""
        risk, safe = self.vector_similarity(vec)
        strict = risk >= self.threshold and risk >= safe + self.margin
        loose = risk >= self.loose_threshold and risk >= safe + self.loose_margin
        return strict or loose


_DETECTORS: dict[int, EmbeddingCrisisDetector] = {}


def embedding_detector(encoder: "EncoderLike") -> EmbeddingCrisisDetector:
    """One detector per encoder and process (the exemplars are encoded once)."""
    detector = _DETECTORS.get(id(encoder))
    if detector is None:
        detector = _DETECTORS[id(encoder)] = EmbeddingCrisisDetector(encoder)
    return detector


def detect_crisis(
    text: str | None, encoder: "EncoderLike | None" = None, vector: np.ndarray | None = None
) -> bool:
    """True when the text signals a risk of suicide or self-harm.

    The lexicon runs first (fast, catches obfuscations); with an encoder the embedding
    check adds recall for phrasings the lexicon does not list. Pass ``vector`` when the
    text is already encoded, so it is not encoded twice.
    """
    if not text or not text.strip():
        return False
    if lexicon_match(text):
        return True
    if encoder is not None:
        detector = embedding_detector(encoder)
        return detector.flags(vector) if vector is not None else detector(text)
    return False
