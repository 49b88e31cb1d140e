"""Reading and writing catalog files: JSON, JSONL, YAML and CSV, with exact round trips.

Reading validates every record and collects every problem (file, record number, field,
reason) before anything is written, so an import is all or nothing.

CSV cells hold list fields (steps, topics, tags, locales, content warnings) as JSON arrays,
so a step may contain ``|``, commas, quotes, newlines or any unicode; files of the older
format, lists joined with ``|``, are still read. Rows end with CRLF (RFC 4180), so the
writer quotes any cell holding a carriage return and the reader keeps it.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from content_catalog.schema import Resource

FORMATS = ("json", "jsonl", "yaml", "csv")
# CSV cells: lists and nested objects as JSON (lists joined with '|' are still read).
_LIST_FIELDS = ("topics", "tags", "locales", "content_warnings", "steps")
_OBJECT_FIELDS = ("group", "contact")
CSV_COLUMNS = tuple(Resource.model_fields)


@dataclass(frozen=True)
class RecordProblem:
    file: str
    record: int
    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}: record {self.record}: {self.field}: {self.reason}"


class CatalogFileError(Exception):
    def __init__(self, problems: list[RecordProblem]) -> None:
        self.problems = problems
        super().__init__(f"{len(problems)} problem(s) in the file; nothing was imported")


def format_of(path: Path, explicit: str | None = None) -> str:
    if explicit:
        return explicit
    suffix = path.suffix.lower().lstrip(".")
    if suffix == "yml":
        return "yaml"
    if suffix in FORMATS:
        return suffix
    raise ValueError(f"{path}: cannot tell the format from '.{suffix}'; use --format json|jsonl|yaml|csv")


def _raw_records(text: str, fmt: str, name: str) -> list[tuple[int, Any]]:
    if fmt == "json":
        data = json.loads(text)
        if isinstance(data, dict) and "resources" in data:
            data = data["resources"]
        if not isinstance(data, list):
            raise ValueError(f"{name}: a JSON catalog is a list of resources")
        return list(enumerate(data, 1))
    if fmt == "yaml":
        data = yaml.safe_load(text) or []
        if isinstance(data, dict) and "resources" in data:
            data = data["resources"]
        if not isinstance(data, list):
            raise ValueError(f"{name}: a YAML catalog is a list of resources")
        return list(enumerate(data, 1))
    if fmt == "jsonl":
        out = []
        # only "\n" ends a record: JSON written with ensure_ascii=False may hold U+2028 etc.
        for n, line in enumerate(text.split("\n"), 1):
            if line.strip():
                try:
                    out.append((n, json.loads(line)))
                except json.JSONDecodeError as exc:
                    out.append((n, _Unparsable(f"not valid JSON ({exc.msg})")))
        return out
    if fmt == "csv":
        reader = csv.DictReader(io.StringIO(text, newline=""))
        return [(n, _from_csv_row(row)) for n, row in enumerate(reader, 1)]
    raise ValueError(f"unknown format {fmt!r}")


@dataclass(frozen=True)
class _Unparsable:
    reason: str


def _from_csv_row(row: dict[str, str]) -> dict[str, Any] | _Unparsable:
    out: dict[str, Any] = {}
    for key, value in row.items():
        if key is None:
            return _Unparsable("more cells than header columns")
        if value is None or value == "":
            continue
        if key in _LIST_FIELDS:
            out[key] = _csv_list(value)
        elif key in _OBJECT_FIELDS:
            try:
                out[key] = json.loads(value)
            except json.JSONDecodeError:
                return _Unparsable(f"{key}: not valid JSON")
        elif key == "is_crisis_resource":
            flag = _BOOLEANS.get(value.strip().lower())
            out[key] = value if flag is None else flag  # an unknown word is named by validation
        elif key == "duration_minutes":
            out[key] = int(value) if value.strip().isdigit() else value
        else:
            out[key] = value
    return out


_BOOLEANS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


def _csv_list(value: str) -> list[Any]:
    """A list cell: a JSON array, or the older format of items joined with '|'."""
    if value.startswith("["):
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            parsed = None
        if isinstance(parsed, list):
            return parsed
    return value.split("|")


def read_catalog_file(path: Path, fmt: str | None = None) -> list[Resource]:
    """Every record validated; raises CatalogFileError listing all problems."""
    return [r for _n, r in read_catalog_records(path, fmt)]


def read_catalog_records(path: Path, fmt: str | None = None) -> list[tuple[int, Resource]]:
    """Every record validated, with its record number (the line, for JSONL) for messages."""
    name = str(path)
    fmt = format_of(path, fmt)
    try:
        # newline="": a carriage return inside a quoted CSV cell is content, not a line end
        with path.open(encoding="utf-8", newline="" if fmt == "csv" else None) as fh:
            text = fh.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{name}: cannot read: {exc}") from None
    try:
        records = _raw_records(text, fmt, name)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise ValueError(f"{name}: not valid {fmt.upper()}: {exc}") from None
    problems: list[RecordProblem] = []
    resources: list[tuple[int, Resource]] = []
    seen: dict[str, int] = {}
    for number, record in records:
        if isinstance(record, _Unparsable):
            problems.append(RecordProblem(name, number, "-", record.reason))
            continue
        if not isinstance(record, dict):
            problems.append(RecordProblem(name, number, "-", "a record must be an object"))
            continue
        try:
            resource = Resource.model_validate(record)
        except ValidationError as exc:
            for err in exc.errors():
                field = ".".join(str(p) for p in err["loc"]) or "-"
                problems.append(RecordProblem(name, number, field, err["msg"].removeprefix("Value error, ")))
            continue
        if resource.id in seen:
            problems.append(RecordProblem(name, number, "id", f"repeats record {seen[resource.id]}"))
            continue
        seen[resource.id] = number
        resources.append((number, resource))
    if problems:
        raise CatalogFileError(problems)
    return resources


def dump_records(resources: Iterable[Resource]) -> list[dict[str, Any]]:
    return [r.model_dump(mode="json", exclude_none=True) for r in resources]


def write_catalog(resources: Iterable[Resource], fmt: str) -> str:
    records = dump_records(resources)
    if fmt == "json":
        return json.dumps(records, indent=2, ensure_ascii=False) + "\n"
    if fmt == "jsonl":
        return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    if fmt == "yaml":
        return yaml.safe_dump(records, sort_keys=False, allow_unicode=True)
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=list(CSV_COLUMNS), lineterminator="\r\n")
        writer.writeheader()
        for r in records:
            row: dict[str, Any] = {}
            for key, value in r.items():
                if key in _LIST_FIELDS or key in _OBJECT_FIELDS:
                    row[key] = json.dumps(value, ensure_ascii=False, sort_keys=True)
                elif isinstance(value, bool):
                    row[key] = "true" if value else "false"
                else:
                    row[key] = value
            writer.writerow(row)
        return buf.getvalue()
    raise ValueError(f"unknown format {fmt!r}")
