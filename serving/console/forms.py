"""The resource form: HTML form fields to a record for the catalog schema and back, and
the schema's errors placed next to the field they are about.

Validation is the schema's own (``content_catalog.schema.Resource``): this module only
translates names, so a form can never accept what the API or an import would refuse.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from content_catalog.schema import Resource
from core.taxonomy import Audience, Format, Modality, ReadingLevel, ResourceType, Topic, Weekday

CHOICES = {
    "type": [t.value for t in ResourceType],
    "format": [f.value for f in Format],
    "reading_level": [r.value for r in ReadingLevel],
    "audience": [a.value for a in Audience],
    "group_modality": [m.value for m in Modality],
    "topics": [t.value for t in Topic],
}
WEEKDAYS = [d.value for d in Weekday]
TEXT = ("title", "summary", "body", "url", "country")
COMMA_LISTS = ("tags", "locales", "content_warnings")
CONTACT = ("name", "phone", "text", "web", "hours", "checked_on")
GROUP = ("facilitator_credential", "location", "cost")
GROUP_INTS = ("capacity", "session_minutes")

# model-level rules of the schema name no field: where their message belongs on the form
_RULE_FIELDS = (
    ("article needs a body", "body"), ("at least two steps", "steps"), ("group listing needs", "group_facilitator_credential"),
    ("only a group listing", "type"), ("needs a country", "country"), ("needs a contact", "contact_name"),
    ("at least one channel", "contact_phone"), ("in-person group needs a location", "group_location"),
    ("names its reviewer", "type"),
)


class FormProblems(Exception):
    """Field name -> message, for fields that could not even be read (a number that is not one)."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def _lines(value: str) -> list[str]:
    return [line.strip() for line in value.splitlines() if line.strip()]


def _commas(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def _int(form: Mapping[str, str], name: str, errors: dict[str, str]) -> int | None:
    raw = (form.get(name) or "").strip()
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        errors[name] = "Enter a whole number."
        return None


def record_from_form(form: Any) -> dict[str, Any]:
    """A record for the schema; empty fields are None (the store drops them), so clearing a
    field in the form clears it in the resource."""
    errors: dict[str, str] = {}
    get = lambda name: (form.get(name) or "").strip()  # noqa: E731 - a short local reader
    record: dict[str, Any] = {name: get(name) or None for name in TEXT}
    record["type"] = get("type") or None
    record["steps"] = _lines(form.get("steps") or "")
    record["topics"] = list(form.getlist("topics"))
    for name in COMMA_LISTS:
        record[name] = _commas(form.get(name) or "")
    if not record["locales"]:
        record["locales"] = None  # the schema's default (en)
    for name in ("format", "reading_level", "audience"):
        record[name] = get(name) or None
    record["duration_minutes"] = _int(form, "duration_minutes", errors)
    record["is_crisis_resource"] = form.get("is_crisis_resource") == "on"

    contact = {name: get(f"contact_{name}") or None for name in CONTACT}
    record["contact"] = {k: v for k, v in contact.items() if v is not None} if any(contact.values()) else None

    group_given = any(get(f"group_{n}") for n in (*GROUP, *GROUP_INTS, "timezone", "weekly"))
    if record["type"] == ResourceType.GROUP or group_given:
        weekly = []
        for line in _lines(form.get("group_weekly") or ""):
            day, _, start = line.partition(" ")
            if day.lower()[:3] not in WEEKDAYS or not start.strip():
                errors["group_weekly"] = "Write one session a line as a day and a time, e.g. mon 18:30."
                break
            weekly.append({"weekday": day.lower()[:3], "start": start.strip()})
        group: dict[str, Any] = {name: get(f"group_{name}") or None for name in GROUP}
        group["modality"] = get("group_modality") or None
        group["capacity"] = _int(form, "group_capacity", errors)
        group["schedule"] = {"timezone": get("group_timezone"), "weekly": weekly,
                             "session_minutes": _int(form, "group_session_minutes", errors)}
        record["group"] = group
    else:
        record["group"] = None
    if errors:
        raise FormProblems(errors)
    return record


def validate(record: dict[str, Any]) -> Resource:
    """The schema's verdict on a new record (None values mean "not given")."""
    return Resource.model_validate({k: v for k, v in record.items() if v is not None})


def field_errors(exc: ValidationError) -> dict[str, str]:
    """Each schema error under the form field it is about (the first one per field)."""
    out: dict[str, str] = {}
    for err in exc.errors():
        loc = [str(p) for p in err["loc"]]
        message = str(err["msg"]).removeprefix("Value error, ")
        message = message[0].upper() + message[1:] if message else message
        name = _field_for(loc, message)
        out.setdefault(name, message)
    return out


def _field_for(loc: list[str], message: str) -> str:
    if not loc or loc in (["group"], ["contact"]):
        for needle, name in _RULE_FIELDS:
            if needle in message:
                return name
        return {"group": "group_facilitator_credential", "contact": "contact_phone"}.get(loc[0] if loc else "", "form")
    if loc[0] == "contact" and len(loc) > 1:
        return f"contact_{loc[1]}"
    if loc[0] == "group":
        if len(loc) > 2 and loc[1] == "schedule":
            return {"timezone": "group_timezone", "session_minutes": "group_session_minutes"}.get(loc[2], "group_weekly")
        return f"group_{loc[1]}" if len(loc) > 1 else "group_facilitator_credential"
    return loc[0]


def form_values(resource: Resource | None) -> dict[str, Any]:
    """What the form shows for a stored resource (strings, as typed)."""
    if resource is None:
        return {"type": "article", "locales": "en", "format": "text", "reading_level": "standard",
                "audience": "all", "topics": []}
    data = resource.model_dump(mode="json", exclude_none=True)
    values: dict[str, Any] = {name: str(data.get(name, "")) for name in (*TEXT, "type", "format", "reading_level",
                                                                          "audience", "duration_minutes")}
    values["id"] = resource.id
    values["steps"] = "\n".join(data.get("steps", []))
    values["topics"] = list(data.get("topics", []))
    for name in COMMA_LISTS:
        values[name] = ", ".join(data.get(name, []))
    values["is_crisis_resource"] = bool(data.get("is_crisis_resource"))
    for name in CONTACT:
        values[f"contact_{name}"] = str((data.get("contact") or {}).get(name, ""))
    group = data.get("group") or {}
    for name in (*GROUP, "modality", "capacity"):
        values[f"group_{name}"] = str(group.get(name, ""))
    schedule = group.get("schedule") or {}
    values["group_timezone"] = schedule.get("timezone", "")
    values["group_session_minutes"] = str(schedule.get("session_minutes", ""))
    values["group_weekly"] = "\n".join(f"{s['weekday']} {s['start'][:5]}" for s in schedule.get("weekly", []))
    return values


def submitted_values(form: Any) -> dict[str, Any]:
    """The form as the person typed it, to show it again with its errors."""
    values: dict[str, Any] = {key: form.get(key, "") for key in form.keys()}
    values["topics"] = list(form.getlist("topics"))
    values["is_crisis_resource"] = form.get("is_crisis_resource") == "on"
    return values


def show(value: Any) -> str:
    """A field's value for a person to read (history, diffs)."""
    from jinja2 import Undefined

    if value is None or isinstance(value, Undefined):
        return "(none)"
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        # labels (topics, locales) on one line; sentences (steps) one a line
        return ", ".join(value) if not any(" " in v for v in value) else "\n".join(f"• {v}" for v in value)
    return json.dumps(value, ensure_ascii=False, indent=1)
