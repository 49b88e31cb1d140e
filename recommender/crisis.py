"""Reading crisis language in transient text: ``none``, ``concern`` or ``crisis``.

Two parts, each doing what it is good at. The lexicon (``recommender.crisis_lexicon``)
catches obfuscated spellings and plain statements of intent, plan and method, and refuses
negation, other people, news, recovery and hyperbole. A classifier over the sentence
embedding (multinomial logistic regression, trained on a corpus the team wrote:
``training/crisis_corpus``) reads everything else. The lexicon's weak matches ("I want to
die", which people also say of a pizza) count only when the classifier agrees.

The thresholds were chosen on a development set of real public posts (see
``docs/crisis-detector.md``); the weights never saw those posts. The text is inspected in
memory only; it is never stored or logged.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from importlib import resources as importlib_resources
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from recommender.crisis_lexicon import LexiconReading, RiskLevel, lexicon_level, lexicon_match, normalise, read_text

if TYPE_CHECKING:
    from core.encoder import EncoderLike

__all__ = ["CrisisClassifier", "CrisisDetector", "RiskAssessment", "RiskLevel", "Thresholds", "assess",
           "detect_crisis", "lexicon_level", "lexicon_match", "normalise"]

log = logging.getLogger("solace.crisis")

# the classifier alone reads crisis only in a text written mostly in the first person
FIRST_PERSON_SHARE = 0.5
# the classifier's bar when the lexicon read the risk words as negated, news or hyperbole
SUPPRESSED_BAR = 0.97
CLASSES = (RiskLevel.NONE.value, RiskLevel.CONCERN.value, RiskLevel.CRISIS.value)


@dataclass(frozen=True)
class Thresholds:
    """``crisis`` (on the classifier's crisis probability) flags on its own; ``weak`` (on
    concern + crisis probability: the text read as serious, not as a joke) confirms a weak
    lexicon match; ``concern`` (on concern + crisis probability) marks distress."""

    crisis: float = 0.85
    weak: float = 0.65
    concern: float = 0.6


@dataclass(frozen=True)
class RiskAssessment:
    level: RiskLevel
    crisis_probability: float | None = None
    helping: bool = False  # worry for someone else: content on how to help them fits

    @property
    def crisis(self) -> bool:
        return self.level is RiskLevel.CRISIS


def _data_path(name: str) -> Path:
    return Path(str(importlib_resources.files("recommender") / "data" / name))


@dataclass
class CrisisClassifier:
    """Softmax over ``none``, ``concern``, ``crisis`` from a sentence embedding."""

    coef: np.ndarray  # (3, dim)
    intercept: np.ndarray  # (3,)
    thresholds: Thresholds = field(default_factory=Thresholds)
    encoder: str = "all-MiniLM-L6-v2"
    card: dict[str, object] = field(default_factory=dict)

    WEIGHTS = "crisis_classifier.npz"
    CARD = "crisis_classifier.json"

    @classmethod
    def load(cls, folder: Path | None = None) -> "CrisisClassifier":
        weights = (folder / cls.WEIGHTS) if folder else _data_path(cls.WEIGHTS)
        card_path = (folder / cls.CARD) if folder else _data_path(cls.CARD)
        with np.load(weights) as arrays:
            coef, intercept = arrays["coef"].astype(np.float32), arrays["intercept"].astype(np.float32)
        card = json.loads(card_path.read_text(encoding="utf-8"))
        return cls(coef, intercept, Thresholds(**card["thresholds"]), str(card["encoder"]), card)

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(folder / self.WEIGHTS, coef=self.coef, intercept=self.intercept)
        card = dict(self.card, thresholds=self.thresholds.__dict__, encoder=self.encoder, classes=list(CLASSES))
        (folder / self.CARD).write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")

    @property
    def dim(self) -> int:
        return int(self.coef.shape[1])

    def probabilities(self, vectors: np.ndarray) -> np.ndarray:
        logits = np.atleast_2d(vectors).astype(np.float32) @ self.coef.T + self.intercept
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return exp / exp.sum(axis=1, keepdims=True)


def decide(reading: LexiconReading, probs: np.ndarray | None, thresholds: Thresholds) -> RiskLevel:
    """The rule joining the two parts (one place, used by serving and evaluation)."""
    if reading.strong:
        return RiskLevel.CRISIS
    if probs is None:  # no encoder: the lexicon alone, tuned for recall
        if reading.weak:
            return RiskLevel.CRISIS
        return RiskLevel.CONCERN if reading.concern else RiskLevel.NONE
    p_crisis = float(probs[2])
    bar = max(thresholds.crisis, SUPPRESSED_BAR) if reading.suppressed else thresholds.crisis
    # A weak match already says the risk words; what the classifier is asked is whether the
    # text around them is serious (crisis or distress) or everyday hyperbole, so it answers
    # with the probability of anything but ``none``.
    serious = 1.0 - float(probs[0])
    if reading.weak and serious >= thresholds.weak:
        return RiskLevel.CRISIS
    if p_crisis >= bar and reading.first_person_share >= FIRST_PERSON_SHARE:
        return RiskLevel.CRISIS
    if reading.weak or reading.concern or serious >= thresholds.concern:
        return RiskLevel.CONCERN
    return RiskLevel.NONE


class CrisisDetector:
    """The lexicon and, with an encoder whose vectors it was trained on, the classifier."""

    def __init__(self, encoder: "EncoderLike | None" = None, classifier: CrisisClassifier | None = None) -> None:
        self.encoder = encoder
        self.classifier = classifier
        if encoder is not None and classifier is None:
            classifier = CrisisClassifier.load()
            name = getattr(encoder, "name", classifier.encoder)
            if name != classifier.encoder:
                log.warning("the crisis classifier was trained on another encoder's vectors; "
                            "reading crisis language with the lexicon alone",
                            extra={"tenantless": True})
                classifier = None
            self.classifier = classifier

    def assess(self, text: str | None, vector: np.ndarray | None = None) -> RiskAssessment:
        if not text or not text.strip():
            return RiskAssessment(RiskLevel.NONE)
        reading = read_text(text)
        probs = None
        if self.classifier is not None and self.encoder is not None and not reading.strong:
            vec = vector if vector is not None else self.encoder.encode([text])[0]
            if vec.shape[0] == self.classifier.dim:
                probs = self.classifier.probabilities(vec)[0]
        thresholds = self.classifier.thresholds if self.classifier is not None else Thresholds()
        level = decide(reading, probs, thresholds)
        return RiskAssessment(level, None if probs is None else float(probs[2]),
                              helping=reading.helping and level is not RiskLevel.CRISIS)


_DETECTORS: dict[int, CrisisDetector] = {}


def detector_for(encoder: "EncoderLike | None") -> CrisisDetector:
    """One detector per encoder and process (the weights load once)."""
    key = id(encoder)
    detector = _DETECTORS.get(key)
    if detector is None:
        detector = _DETECTORS[key] = CrisisDetector(encoder)
    return detector


def assess(text: str | None, encoder: "EncoderLike | None" = None, vector: np.ndarray | None = None) -> RiskAssessment:
    """The risk a text signals. Pass ``vector`` when the text is already encoded."""
    return detector_for(encoder).assess(text, vector)


def detect_crisis(text: str | None, encoder: "EncoderLike | None" = None, vector: np.ndarray | None = None) -> bool:
    """True when the text signals a risk of suicide or self-harm now."""
    return assess(text, encoder, vector).crisis
