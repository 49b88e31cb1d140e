"""Training the crisis classifier, choosing its thresholds, and measuring the detector.

Weights come only from the corpus the team wrote (``training/crisis_corpus``): a
multinomial logistic regression over sentence embeddings, deterministic for a given corpus
and encoder. Thresholds are chosen on a separate labelled development set of real text,
which is read, measured and never trained on, and no text of it is ever printed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from recommender.crisis import CLASSES, CrisisClassifier, Thresholds, decide
from recommender.crisis_lexicon import LexiconReading, RiskLevel, read_text

CORPUS_DIR = Path(__file__).with_name("crisis_corpus")
LEVEL_INDEX = {c: n for n, c in enumerate(CLASSES)}
Encode = Callable[[Sequence[str]], np.ndarray]


@dataclass(frozen=True)
class LabelledText:
    text: str
    label: str  # none | concern | crisis, or "0"/"1" for binary sets
    group: str = "-"  # the source or stratum, for per-group figures


def load_corpus(folder: Path = CORPUS_DIR) -> list[LabelledText]:
    rows: list[LabelledText] = []
    for name in ("crisis", "concern", "none"):
        path = folder / f"{name}.jsonl"
        for n, line in enumerate(path.read_text(encoding="utf-8").split("\n"), 1):
            if not line.strip():
                continue
            record = json.loads(line)
            if record["label"] not in LEVEL_INDEX:
                raise ValueError(f"{path}: line {n}: label must be one of {', '.join(CLASSES)}")
            rows.append(LabelledText(record["text"], record["label"], record.get("kind", "-")))
    return rows


def load_labelled(path: Path, group_field: str = "kind") -> list[LabelledText]:
    """A JSONL evaluation set: ``label`` 0/1 (crisis or not) or none/concern/crisis;
    ``group_field`` names the field to break figures down by (``kind`` or ``source``)."""
    rows: list[LabelledText] = []
    for n, line in enumerate(path.read_text(encoding="utf-8").split("\n"), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            label = str(record["label"])
            text = str(record["text"])
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}: line {n}: {exc}") from None
        if label not in ("0", "1", *CLASSES):
            raise ValueError(f"{path}: line {n}: label must be 0, 1, none, concern or crisis")
        rows.append(LabelledText(text, label, str(record.get(group_field, record.get("source", "-")))))
    return rows


def corpus_fingerprint(rows: Sequence[LabelledText]) -> str:
    digest = hashlib.sha256()
    for row in rows:
        digest.update(f"{row.label}\t{row.text}\n".encode())
    return digest.hexdigest()[:16]


def train_classifier(
    rows: Sequence[LabelledText], encode: Encode, encoder_name: str, c: float = 3.0,
    thresholds: Thresholds | None = None,
) -> CrisisClassifier:
    """Fit the classifier on the corpus (class-balanced, L2, lbfgs: deterministic)."""
    from sklearn.linear_model import LogisticRegression

    vectors = encode([r.text for r in rows])
    labels = np.array([LEVEL_INDEX[r.label] for r in rows])
    model = LogisticRegression(C=c, max_iter=5000, class_weight="balanced")
    model.fit(vectors, labels)
    counts = {c_: int((labels == LEVEL_INDEX[c_]).sum()) for c_ in CLASSES}
    card: dict[str, object] = {"trained_on": "training/crisis_corpus", "corpus_fingerprint": corpus_fingerprint(rows),
            "corpus_counts": counts, "model": f"multinomial logistic regression, C={c}, class_weight=balanced"}
    return CrisisClassifier(model.coef_.astype(np.float32), model.intercept_.astype(np.float32),
                            thresholds or Thresholds(), encoder_name, card)


@dataclass
class Scored:
    """What the detector needs per text, computed once so thresholds can be swept."""

    readings: list[LexiconReading]
    probs: np.ndarray  # (n, 3)

    def levels(self, thresholds: Thresholds) -> list[RiskLevel]:
        return [decide(r, p, thresholds) for r, p in zip(self.readings, self.probs)]


def score(rows: Sequence[LabelledText], classifier: CrisisClassifier, encode: Encode) -> Scored:
    vectors = encode([r.text for r in rows])
    return Scored([read_text(r.text) for r in rows], classifier.probabilities(vectors))


def is_positive(label: str) -> bool:
    return label in ("1", "crisis")


@dataclass
class Figures:
    recall: float
    false_positive_rate: float
    positives: int
    negatives: int
    concern_or_crisis_recall: float
    by_group: dict[str, dict[str, Any]] = field(default_factory=dict)
    confusion: dict[str, dict[str, int]] = field(default_factory=dict)


def measure(rows: Sequence[LabelledText], levels: Sequence[RiskLevel]) -> Figures:
    pos = [lv for r, lv in zip(rows, levels) if is_positive(r.label)]
    neg = [lv for r, lv in zip(rows, levels) if not is_positive(r.label)]
    crisis = RiskLevel.CRISIS
    by_group: dict[str, dict[str, Any]] = {}
    confusion: dict[str, dict[str, int]] = {}
    for row, level in zip(rows, levels):
        g = by_group.setdefault(row.group, {"positives": 0, "flagged_positives": 0, "negatives": 0, "flagged_negatives": 0})
        if is_positive(row.label):
            g["positives"] += 1
            g["flagged_positives"] += level is crisis
        else:
            g["negatives"] += 1
            g["flagged_negatives"] += level is crisis
        truth = {"0": "not crisis", "1": "crisis"}.get(row.label, row.label)
        confusion.setdefault(truth, {c: 0 for c in CLASSES})[level.value] += 1
    for g in by_group.values():
        g["recall"] = round(g["flagged_positives"] / g["positives"], 3) if g["positives"] else None
        g["false_positive_rate"] = round(g["flagged_negatives"] / g["negatives"], 3) if g["negatives"] else None
    return Figures(
        recall=sum(lv is crisis for lv in pos) / max(len(pos), 1),
        false_positive_rate=sum(lv is crisis for lv in neg) / max(len(neg), 1),
        positives=len(pos), negatives=len(neg),
        concern_or_crisis_recall=sum(lv is not RiskLevel.NONE for lv in pos) / max(len(pos), 1),
        by_group=by_group, confusion=confusion,
    )


def choose_thresholds(
    rows: Sequence[LabelledText], scored: Scored, max_fpr: float, exclude_groups: frozenset[str] = frozenset(),
    max_natural_fpr: float | None = None,
) -> tuple[Thresholds, Figures]:
    """The thresholds with the highest crisis recall whose false-positive rate is at most
    ``max_fpr`` (and, on the negatives outside ``exclude_groups``, ``max_natural_fpr``)."""
    best: tuple[float, Thresholds, Figures] | None = None
    natural = [i for i, r in enumerate(rows) if r.group not in exclude_groups]
    for crisis_t in np.arange(0.50, 0.995, 0.01):
        for weak_t in np.arange(0.05, 0.96, 0.025):  # on concern + crisis probability, so not capped by crisis_t
            t = Thresholds(crisis=round(float(crisis_t), 2), weak=round(float(weak_t), 3))
            levels = scored.levels(t)
            figures = measure(rows, levels)
            if figures.false_positive_rate > max_fpr:
                continue
            if max_natural_fpr is not None:
                nat = measure([rows[i] for i in natural], [levels[i] for i in natural])
                if nat.false_positive_rate > max_natural_fpr:
                    continue
            key = figures.recall - 1e-3 * figures.false_positive_rate
            if best is None or key > best[0]:
                best = (key, t, figures)
    if best is None:
        raise ValueError(f"no thresholds keep the false-positive rate at or below {max_fpr}")
    return best[1], best[2]


def pr_curve(rows: Sequence[LabelledText], scored: Scored) -> list[tuple[float, float, float]]:
    """(threshold, precision, recall) of crisis over the classifier's crisis threshold,
    with the lexicon's rules applied as shipped."""
    points = []
    for t in np.arange(0.30, 0.995, 0.02):
        base = Thresholds(crisis=float(t), weak=min(float(t), 0.65))
        levels = scored.levels(base)
        tp = sum(lv is RiskLevel.CRISIS and is_positive(r.label) for r, lv in zip(rows, levels))
        fp = sum(lv is RiskLevel.CRISIS and not is_positive(r.label) for r, lv in zip(rows, levels))
        pos = sum(is_positive(r.label) for r in rows)
        points.append((round(float(t), 2), tp / max(tp + fp, 1), tp / max(pos, 1)))
    return points
