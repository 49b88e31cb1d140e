"""Validate the crisis corpus JSONL files.

Checks: valid JSON per line, exact field set, allowed labels (and that each
file only holds its own label), non-empty text, counts per label/kind,
duplicates after normalisation, near-duplicates (token Jaccard), phrases that
are reserved for held-out evaluation, and obvious URLs / phone numbers /
@handles. Exit code 1 on hard errors. Near-duplicates are reported only.
Light on CPU: ~2.6k texts, pairwise set comparisons take a few seconds.
"""
import json
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
LABELS = ("crisis", "concern", "none")
FIELDS = {"text", "label", "kind"}
HARD_NEGATIVE_KINDS = {
    "hyperbole", "negation", "third_person", "news", "academic",
    "supportive_reply", "recovery", "gaming", "everyday_means",
}
# Phrases used by the held-out test sets; the training corpus must not contain them.
RESERVED = [
    "took 52 pills of ibuprofen", "sitting on the building waiting to jump",
    "i have a belt around my neck", "going to drink bleach",
    "is hanging too painful", "pros and cons of leaving a note",
    "i'm going to take all my pills", "can't stop thinking about jumping off the bridge",
    "this pizza is so good i want to die", "my brother died by suicide three years ago",
    "i don't want to die young", "i do not plan to kill myself",
    "one year clean of self-harm", "i can't fall asleep at night",
    "i've been cutting again", "i want to unalive myself",
]
MINIMUMS = {"total": 2400, "hard_negatives": 550, "sleep_tiredness": 80}
JACCARD = 0.8


def norm(s: str) -> str:
    s = s.lower().replace("’", "'")
    # drop ASCII punctuation but keep letters, digits and emoji
    s = re.sub(r"[!-&(-/:-@\[-`{-~]", " ", s)
    return re.sub(r"\s+", " ", s).strip()


def loose(s: str) -> str:
    """Normalise harder for the reserved-phrase check (drop apostrophes)."""
    return norm(s).replace("'", "")


def main() -> int:
    errors, rows = [], []
    for label in LABELS:
        path = HERE / f"{label}.jsonl"
        if not path.exists():
            errors.append(f"missing {path.name}")
            continue
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            where = f"{path.name}:{i}"
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                errors.append(f"{where}: bad json ({exc})")
                continue
            if set(obj) != FIELDS:
                errors.append(f"{where}: fields {sorted(obj)}")
                continue
            if obj["label"] != label:
                errors.append(f"{where}: label {obj['label']!r} in {path.name}")
            if not isinstance(obj["text"], str) or not obj["text"].strip():
                errors.append(f"{where}: empty text")
                continue
            if not re.fullmatch(r"[a-z_]+", obj["kind"] or ""):
                errors.append(f"{where}: bad kind {obj['kind']!r}")
            rows.append((where, obj))

    # counts
    by_label = Counter(o["label"] for _, o in rows)
    by_kind = defaultdict(Counter)
    for _, o in rows:
        by_kind[o["label"]][o["kind"]] += 1
    print(f"total: {len(rows)}")
    for label in LABELS:
        print(f"\n{label}: {by_label[label]}")
        for kind, n in sorted(by_kind[label].items()):
            print(f"  {kind:20s} {n}")
    hard = sum(n for k, n in by_kind["none"].items() if k in HARD_NEGATIVE_KINDS)
    sleep = by_kind["none"]["sleep"] + by_kind["none"]["tiredness"]
    print(f"\nnone hard negatives: {hard}   none sleep+tiredness: {sleep}")
    for name, val in (("total", len(rows)), ("hard_negatives", hard), ("sleep_tiredness", sleep)):
        if val < MINIMUMS[name]:
            errors.append(f"{name} below minimum: {val} < {MINIMUMS[name]}")

    # exact duplicates after normalisation
    seen = {}
    for where, o in rows:
        key = norm(o["text"])
        if key in seen:
            errors.append(f"duplicate: {where} == {seen[key]}: {o['text']!r}")
        else:
            seen[key] = where

    # reserved phrases, urls, phone numbers, handles
    reserved = [loose(p) for p in RESERVED]
    for where, o in rows:
        t = o["text"]
        lt = loose(t)
        for p in reserved:
            if p in lt:
                errors.append(f"{where}: contains reserved test phrase {p!r}")
        if re.search(r"https?://|www\.|\.(com|org|net|io|co\.uk)\b", t, re.I):
            errors.append(f"{where}: looks like a url")
        if re.search(r"\d[\d\s().-]{6,}\d", t):
            errors.append(f"{where}: looks like a phone number")
        if re.search(r"(^|\s)@\w", t):
            errors.append(f"{where}: looks like a @handle")

    # near duplicates (reported, not fatal)
    toks = [(w, o, frozenset(norm(o["text"]).split())) for w, o in rows]
    near = []
    for i in range(len(toks)):
        wi, oi, si = toks[i]
        if len(si) < 4:
            continue
        for j in range(i + 1, len(toks)):
            wj, oj, sj = toks[j]
            if len(sj) < 4:
                continue
            small, big = sorted((len(si), len(sj)))
            if small / big < JACCARD:
                continue
            jac = len(si & sj) / len(si | sj)
            if jac >= JACCARD:
                near.append((jac, wi, wj, oi, oj))
    same = [n for n in near if n[3]["label"] == n[4]["label"]]
    cross = [n for n in near if n[3]["label"] != n[4]["label"]]
    print(f"\nnear-duplicates (jaccard>={JACCARD}) same label: {len(same)}, cross label: {len(cross)}")
    for jac, wi, wj, oi, oj in sorted(near, key=lambda n: -n[0]):
        tag = "SAME " if oi["label"] == oj["label"] else "cross"
        print(f"  {tag} {jac:.2f} {wi} {oi['text']!r}\n            {wj} {oj['text']!r}")

    if errors:
        print(f"\n{len(errors)} ERROR(S):")
        for e in errors:
            print("  " + e)
        return 1
    print("\nOK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
