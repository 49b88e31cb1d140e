"""Detecting crisis language in transient context text, tuned for recall.

A lexicon of phrases, matched after normalising the spellings people use to dodge
filters (leetspeak, spaced letters, repeated letters, "sewerslide", "unalive"). Hyperbole
such as "this exam is killing me" is excluded by requiring a first-person or intent frame
for the ambiguous verbs. The text is inspected in memory only and never stored or logged.
"""

from __future__ import annotations

import re
import unicodedata

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


def detect_crisis(text: str | None) -> bool:
    """True when the text signals a risk of suicide or self-harm."""
    if not text:
        return False
    return lexicon_match(text)
