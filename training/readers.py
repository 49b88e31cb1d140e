"""Readers for the formats of PRODUCT.md (CSV or Parquet, UTF-8, header row):

- interactions: ``user_id,item_id[,weight][,timestamp]`` (ISO 8601 or Unix seconds), or
  ``user_id,item_id,event[,timestamp]`` where ``event`` is an event type mapped to a
  confidence (``dismiss`` and ``report`` are negative: such a pair is never a positive);
- item text: ``item_id,text``;
- item features: ``item_id,feature[,weight]`` and user features: ``user_id,feature[,weight]``
  (long format, one row per feature).

Every bad row is collected as (file, line, reason): a caller gets the whole file or a
:class:`LoadError` listing all problems. Nothing here knows of the command line.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from core.events import DEFAULT_EVENT_WEIGHTS
from core.ids import opaque_user_id
from training.dataset import aggregate_events, decay_factor

INTERACTION_COLUMNS = ("user_id", "item_id", "weight", "timestamp", "event")


@dataclass(frozen=True)
class RowProblem:
    """One bad row: where it is and why it was refused."""

    file: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}"


class LoadError(ValueError):
    """Raised with every problem found; the message is one line (first problems + count)."""

    def __init__(self, problems: Sequence[RowProblem]) -> None:
        self.problems = list(problems)
        shown = "; ".join(str(p) for p in self.problems[:5])
        more = len(self.problems) - 5
        suffix = f" (and {more} more)" if more > 0 else ""
        noun = "problem" if len(self.problems) == 1 else "problems"
        super().__init__(f"{len(self.problems)} {noun}, nothing loaded: {shown}{suffix}")


# ----------------------------------------------------------------------------- raw rows
def _read_rows(path: Path) -> tuple[list[str], Iterator[tuple[int, dict[str, str | None]]]]:
    """Header and ``(line, row)`` pairs; CSV lines are physical lines, Parquet rows count from 2
    (as if row 1 were a header) so both formats report the same numbers for the same data."""
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        import pyarrow.parquet as pq

        try:
            table = pq.read_table(path)
        except Exception as exc:  # noqa: BLE001 - any pyarrow failure is an unreadable file
            raise LoadError([RowProblem(path.name, 0, f"not a readable Parquet file ({exc})")]) from None
        columns = [c.strip() for c in table.column_names]
        data = {c: table.column(i).to_pylist() for i, c in enumerate(columns)}

        def parquet_rows() -> Iterator[tuple[int, dict[str, str | None]]]:
            for r in range(table.num_rows):
                yield r + 2, {c: (None if data[c][r] is None else _as_text(data[c][r])) for c in columns}

        return columns, parquet_rows()
    try:
        handle = path.open("r", encoding="utf-8-sig", newline="")
        reader = csv.reader(handle)
        header = next(reader, None)
    except UnicodeDecodeError as exc:
        raise LoadError([RowProblem(path.name, _first_bad_utf8_line(path), f"not UTF-8 ({exc.reason})")]) from None
    if header is None:
        handle.close()
        raise LoadError([RowProblem(path.name, 1, "empty file: a header row is required")])
    columns = [c.strip() for c in header]

    def csv_rows() -> Iterator[tuple[int, dict[str, str | None]]]:
        with handle:
            line = reader.line_num
            try:
                for values in reader:
                    line_no = line + 1
                    line = reader.line_num
                    if not values or all(not v.strip() for v in values):
                        continue
                    if len(values) != len(columns):
                        yield line_no, {"__error__": f"{len(values)} fields, the header has {len(columns)}"}
                        continue
                    if [v.strip() for v in values] == columns:
                        yield line_no, {"__error__": "the header row again (files concatenated?)"}
                        continue
                    yield line_no, dict(zip(columns, values, strict=True))
            except UnicodeDecodeError as exc:
                yield _first_bad_utf8_line(path), {"__error__": f"not UTF-8 ({exc.reason})"}
            except csv.Error as exc:
                yield reader.line_num, {"__error__": f"malformed CSV ({exc})"}

    return columns, csv_rows()


def _first_bad_utf8_line(path: Path) -> int:
    """The line of the first byte that is not UTF-8 (the text reader decodes in blocks, so
    its own position points at the block, not at the line to fix)."""
    with path.open("rb") as fh:
        for number, raw in enumerate(fh, start=1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError:
                return number
    return 1


def _as_text(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _check_header(
    name: str, columns: Sequence[str], required: Sequence[str], optional: Sequence[str]
) -> list[RowProblem]:
    problems = []
    missing = [c for c in required if c not in columns]
    if missing:
        problems.append(RowProblem(name, 1, f"missing column(s) {', '.join(missing)}; expected {','.join(required)}"
                                   + (f"[,{',' .join(optional)}]" if optional else "")))
    unknown = [c for c in columns if c not in required and c not in optional]
    if unknown:
        problems.append(RowProblem(name, 1, f"unknown column(s) {', '.join(unknown)}"))
    if len(set(columns)) != len(columns):
        problems.append(RowProblem(name, 1, "duplicate column names"))
    return problems


def user_id_problem(user: str) -> str | None:
    """Why ``user`` cannot be a user id, or None.

    Solace stores pseudonyms only, never contact details: an id that looks like an email
    address or a phone number is refused before anything is stored, with the API's rule.
    Plain integers (the row numbers of public datasets such as MovieLens) are accepted
    here; publishing them to a tenant applies the API's rule in full.
    """
    if user.isdigit():
        return None
    try:
        opaque_user_id(user)
    except ValueError as exc:
        return str(exc).replace("; send an opaque pseudonym instead", ": use opaque pseudonyms")
    return None


def _text(row: Mapping[str, str | None], column: str) -> str:
    value = row.get(column)
    return "" if value is None else value.strip()


def parse_weight(raw: str) -> float:
    """A finite float; raises ValueError with a readable reason."""
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"weight {raw!r} is not a number") from None
    if not math.isfinite(value):
        raise ValueError(f"weight {raw!r} is not finite")
    return value


def parse_timestamp(raw: str) -> float:
    """Unix seconds from Unix seconds or ISO 8601 (a naive time is taken as UTC)."""
    try:
        value = float(raw)
        if not math.isfinite(value):
            raise ValueError
        return value
    except ValueError:
        pass
    try:
        when = datetime.fromisoformat(raw)
    except ValueError:
        raise ValueError(f"timestamp {raw!r} is neither ISO 8601 nor Unix seconds") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()


# ----------------------------------------------------------------------------- readers
@dataclass
class RawInteractions:
    """Per (user, item): summed positive confidence, latest timestamp, and negative pairs."""

    weights: dict[tuple[str, str], float]
    timestamps: dict[tuple[str, str], float] | None
    negatives: set[tuple[str, str]]
    event_types: set[str] | None = None  # the types seen, or None without an event column


def read_interactions(
    path: Path,
    event_weights: Mapping[str, float] | None = None,
    half_life_days: float | None = None,
    problems: list[RowProblem] | None = None,
) -> RawInteractions:
    """Read an interaction file; problems are appended to ``problems`` (raised if None).

    With an ``event`` column a pair's confidence is its strongest (decayed) positive event
    and any negative event removes the pair, exactly like Solace's own event log. With a
    ``weight`` column, repeated rows add up; a negative weight marks a negative pair.
    ``half_life_days`` multiplies each confidence by ``0.5 ** (age / half_life)``, the age
    counted from the file's latest timestamp, so old behaviour counts less.
    """
    own = problems is None
    problems = [] if problems is None else problems
    name = path.name
    weights_map = dict(DEFAULT_EVENT_WEIGHTS if event_weights is None else event_weights)
    columns, rows = _read_rows(path)
    header_problems = _check_header(name, columns, ("user_id", "item_id"), ("weight", "timestamp", "event"))
    if "weight" in columns and "event" in columns:
        header_problems.append(RowProblem(name, 1, "give either a weight or an event column, not both"))
    if half_life_days is not None and "timestamp" not in columns:
        header_problems.append(RowProblem(name, 1, "time decay needs a timestamp column"))
    if header_problems:
        problems.extend(header_problems)
        if own:
            raise LoadError(problems)
        return RawInteractions({}, None, set())
    has_ts = "timestamp" in columns
    is_event = "event" in columns
    records: list[tuple[str, str, float, float | None]] = []  # user, item, weight, time
    events: list[tuple[str, str, str, float | None]] = []  # user, item, event type, time
    for line, row in rows:
        if "__error__" in row:
            problems.append(RowProblem(name, line, str(row["__error__"])))
            continue
        user, item = _text(row, "user_id"), _text(row, "item_id")
        if not user:
            problems.append(RowProblem(name, line, "empty user_id"))
            continue
        if not item:
            problems.append(RowProblem(name, line, "empty item_id"))
            continue
        if (why := user_id_problem(user)) is not None:
            problems.append(RowProblem(name, line, why))
            continue
        try:
            kind = _text(row, "event")
            if is_event and kind not in weights_map:
                raise ValueError(f"unknown event type {kind!r} (known: {', '.join(sorted(weights_map))})")
            if "weight" in columns and _text(row, "weight"):
                weight = parse_weight(_text(row, "weight"))
            else:
                weight = 1.0
            ts = None
            if has_ts:
                raw_ts = _text(row, "timestamp")
                if not raw_ts:
                    raise ValueError("empty timestamp (give every row a timestamp or drop the column)")
                ts = parse_timestamp(raw_ts)
        except ValueError as exc:
            problems.append(RowProblem(name, line, str(exc)))
            continue
        if is_event:
            events.append((user, item, kind, ts))
        else:
            records.append((user, item, weight, ts))
    if own and problems:
        raise LoadError(problems)
    if is_event:
        # exactly the rule of Solace's own event log: strongest (decayed) event, negatives remove
        pairs = aggregate_events(events, weights_map, half_life_days)
        return RawInteractions(
            {(p.user, p.item): p.weight for p in pairs},
            {(p.user, p.item): p.timestamp for p in pairs} if has_ts else None,  # type: ignore[misc]  # file times are floats, kept as given
            {(u, i) for u, i, kind, _t in events if weights_map[kind] < 0},
            {kind for _u, _i, kind, _t in events},
        )
    latest = max((r[3] for r in records if r[3] is not None), default=None)
    weights: dict[tuple[str, str], float] = {}
    stamps: dict[tuple[str, str], float] = {}
    negatives: set[tuple[str, str]] = set()
    for user, item, w, ts in records:
        key = (user, item)
        if ts is not None:
            stamps[key] = max(stamps.get(key, ts), ts)
        if w < 0:
            negatives.add(key)
            continue
        if w == 0:
            continue
        if half_life_days is not None and ts is not None and latest is not None:
            w *= decay_factor(latest - ts, half_life_days)
        weights[key] = weights.get(key, 0.0) + w
    for key in negatives:
        weights.pop(key, None)
    return RawInteractions(weights, stamps if has_ts else None, negatives)


def read_features(
    path: Path, id_column: str, problems: list[RowProblem] | None = None
) -> dict[str, list[tuple[str, float]]]:
    """Long-format features (``ID,feature[,weight]``); a weight must be a number >= 0."""
    own = problems is None
    problems = [] if problems is None else problems
    columns, rows = _read_rows(path)
    header = _check_header(path.name, columns, (id_column, "feature"), ("weight",))
    if header:
        problems.extend(header)
        if own:
            raise LoadError(problems)
        return {}
    out: dict[str, list[tuple[str, float]]] = {}
    for line, row in rows:
        if "__error__" in row:
            problems.append(RowProblem(path.name, line, str(row["__error__"])))
            continue
        entity, feature = _text(row, id_column), _text(row, "feature")
        if not entity:
            problems.append(RowProblem(path.name, line, f"empty {id_column}"))
            continue
        if not feature:
            problems.append(RowProblem(path.name, line, "empty feature"))
            continue
        if id_column == "user_id" and (why := user_id_problem(entity)) is not None:
            problems.append(RowProblem(path.name, line, why))
            continue
        weight = 1.0
        if _text(row, "weight"):
            try:
                weight = parse_weight(_text(row, "weight"))
            except ValueError as exc:
                problems.append(RowProblem(path.name, line, str(exc)))
                continue
            if weight < 0:
                problems.append(RowProblem(path.name, line, f"negative feature weight {weight}"))
                continue
        out.setdefault(entity, []).append((feature, weight))
    if own and problems:
        raise LoadError(problems)
    return out


def read_item_text(path: Path, problems: list[RowProblem] | None = None) -> dict[str, str]:
    """``item_id,text``: one non-empty text per item (a repeated id is an error)."""
    own = problems is None
    problems = [] if problems is None else problems
    columns, rows = _read_rows(path)
    header = _check_header(path.name, columns, ("item_id", "text"), ())
    if header:
        problems.extend(header)
        if own:
            raise LoadError(problems)
        return {}
    out: dict[str, str] = {}
    first_line: dict[str, int] = {}
    for line, row in rows:
        if "__error__" in row:
            problems.append(RowProblem(path.name, line, str(row["__error__"])))
            continue
        item, text = _text(row, "item_id"), _text(row, "text")
        if not item:
            problems.append(RowProblem(path.name, line, "empty item_id"))
        elif not text:
            problems.append(RowProblem(path.name, line, "empty text"))
        elif item in out:
            problems.append(RowProblem(path.name, line, f"item {item!r} already has a text (line {first_line[item]})"))
        else:
            out[item] = text
            first_line[item] = line
    if own and problems:
        raise LoadError(problems)
    return out
