"""The one parser of JSON request bodies, and the checks of path and query values.

Python's ``json`` accepts things a client must not be able to send: ``NaN`` and
``Infinity`` (not JSON, and not storable in every database), duplicate keys (the last one
silently wins, so two readers of one body may disagree), ``1e400`` (becomes ``inf``),
nesting deep enough to exhaust the interpreter's stack (``RecursionError``, a 500), bodies
in UTF-16 or UTF-32 (guessed from the bytes), and ``\\u0000`` or lone surrogates in
strings, which PostgreSQL and UTF-8 encoders refuse later, deep inside a handler.

Everything here is plain Python, without Flask: it raises :class:`InputProblem`, which
``serving.errors`` maps to a 400 (the body is not acceptable JSON) or a 422 (it is JSON,
but a value cannot be used), always naming the field where there is one.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from typing import Any

import numpy as np

# Deeper than any body of the API (a catalog resource nests about 4 levels), far below
# the interpreter's recursion limit, so neither the parser nor later code can exhaust it.
MAX_DEPTH = 32
# More digits than any meaningful number, fewer than int()'s own limit (4300).
MAX_NUMBER_CHARS = 400

# Characters that cannot be stored or are never meant as text: NUL and the other C0
# controls except tab, newline and carriage return, and UTF-16 surrogates (only a lone one
# can reach a str; a valid pair is decoded into one character by the parser).
_UNSTORABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")
# How such characters can enter a JSON text decoded as strict UTF-8: only as escapes
# (raw control characters are refused by the parser, raw surrogates by the decoder). A
# body without one of these is clean, and its values need no walk.
_SUSPECT_ESCAPE = re.compile(r"\\u(?:00[01][0-9a-fA-F]|[dD][89a-fA-F][0-9a-fA-F]{2})")


class InputProblem(Exception):
    """A client's input that cannot be accepted: ``status`` 400 (malformed) or 422 (a value
    that cannot be used), ``field`` the dotted path of the value when there is one."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field


def _malformed(message: str) -> InputProblem:
    return InputProblem(400, "invalid_json", f"body: {message}", "body")


def describe_unstorable(text: str) -> str | None:
    """Why ``text`` cannot be accepted (its first unstorable character), or None."""
    match = _UNSTORABLE.search(text)
    if match is None:
        return None
    char = match.group()
    if char == "\x00":
        what = "a NUL character (U+0000)"
    elif "\ud800" <= char <= "\udfff":
        what = f"a lone UTF-16 surrogate (U+{ord(char):04X})"
    else:
        what = f"a control character (U+{ord(char):04X})"
    return f"contains {what}, which cannot be stored"


def nesting_depth(data: bytes) -> int:
    """The deepest nesting of arrays and objects in a JSON text, counted without parsing,
    so a hostile depth is refused before the recursive parser ever sees it.

    Brackets inside strings do not count: with escapes removed (``\\"`` is the only way a
    quote can sit inside a string), the text between every other quote is outside all
    strings, exactly as the parser will read it. C-speed steps only (split, translate,
    numpy), since every batch of events larger than a few dozen goes through here.
    """
    if b"\\" in data:
        data = _ESCAPE.sub(b"", data)
    brackets = b"".join(data.split(b'"')[::2]).translate(None, _NOT_BRACKETS)
    if not brackets:
        return 0
    codes = np.frombuffer(brackets, dtype=np.uint8)
    steps = np.where((codes == ord("[")) | (codes == ord("{")), 1, -1)
    return int(np.cumsum(steps).max())


_ESCAPE = re.compile(rb"\\.", re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        twice = next(key for key, _value in pairs if key in seen or seen.add(key))  # type: ignore[func-returns-value]  # set.add returns None: the or keeps the key's test
        raise _malformed(f"key {twice[:40]!r} appears twice in one object")
    return out


def _no_constant(name: str) -> Any:
    raise _malformed(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    if len(text) > MAX_NUMBER_CHARS:
        raise InputProblem(422, "invalid_field", f"body: a number of {len(text)} characters is out of range", "body")
    value = float(text)
    if not math.isfinite(value):
        raise InputProblem(422, "invalid_field", f"body: the number {text[:40]} is out of range", "body")
    return value


def _bounded_int(text: str) -> int:
    if len(text) > MAX_NUMBER_CHARS:
        raise InputProblem(422, "invalid_field", f"body: a number of {len(text)} digits is out of range", "body")
    return int(text)


def _strings(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], str, bool]]:
    """Every string of a parsed body with its path: ``(path, text, is_key)``. Iterative,
    though the depth is already capped."""
    stack: list[tuple[Any, tuple[Any, ...]]] = [(value, path)]
    while stack:
        node, where = stack.pop()
        if isinstance(node, str):
            yield where, node, False
        elif isinstance(node, dict):
            for key, item in node.items():
                yield where, key, True  # a key is named by the object holding it
                stack.append((item, (*where, key)))
        elif isinstance(node, list):
            stack.extend((item, (*where, n)) for n, item in enumerate(node))


def dotted(path: tuple[Any, ...]) -> str:
    """The field name of a path, as the validation errors name it (``events.3.user_id``)."""
    return ".".join(str(p) for p in path)


def check_strings(value: Any) -> None:
    """Refuse a parsed value holding an unstorable character anywhere, naming the field."""
    for path, text, is_key in _strings(value):
        why = describe_unstorable(text)
        if why is not None:
            field = dotted(path) or "body"
            raise InputProblem(422, "invalid_field", f"{field}: {'a key' if is_key else 'the value'} {why}", field)


def parse_json_body(data: bytes) -> Any:
    """Parse a request body as strict JSON: UTF-8 only, depth at most ``MAX_DEPTH``, no
    NaN or Infinity, no duplicate keys, finite numbers of sane length, and no unstorable
    character in any string. Raises :class:`InputProblem`."""
    if not data.strip():
        raise _malformed("the request body is empty; send a JSON object")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _malformed(f"not valid UTF-8 (byte {exc.start}); send the body as UTF-8 JSON") from None
    if data.count(b"[") + data.count(b"{") > MAX_DEPTH:
        depth = nesting_depth(data)
        if depth > MAX_DEPTH:
            raise _malformed(f"nested {depth} levels deep; at most {MAX_DEPTH} are accepted")
    try:
        value = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant,
                           parse_float=_finite_float, parse_int=_bounded_int)
    except InputProblem:
        raise
    except RecursionError:  # not reachable past the depth check; kept as the last guard
        raise _malformed(f"nested too deeply; at most {MAX_DEPTH} levels are accepted") from None
    except json.JSONDecodeError as exc:
        raise _malformed(f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None
    except ValueError as exc:
        raise _malformed(f"not valid JSON: {' '.join(str(exc).split())[:200]}") from None
    if _SUSPECT_ESCAPE.search(text):
        check_strings(value)
    return value


def check_url_text(name: str, raw: bytes) -> str:
    """A path or query value as sent (percent-decoded bytes): strict UTF-8 and storable.
    Werkzeug would replace invalid bytes with U+FFFD and pass NUL through."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InputProblem(400, "bad_request", f"{name}: not valid UTF-8", name) from None
    why = describe_unstorable(text)
    if why is not None:
        raise InputProblem(422, "invalid_field", f"{name}: the value {why}", name)
    return text
