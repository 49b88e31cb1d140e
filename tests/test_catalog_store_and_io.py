from __future__ import annotations

from pathlib import Path

import pytest

from content_catalog.io import CatalogFileError, read_catalog_file, write_catalog
from content_catalog.schema import Resource
from content_catalog.seed import load_seed_catalog
from content_catalog.access import Actor
from content_catalog.store import CatalogStore

EDITOR = Actor.operator("editor-7")
REVIEWER = Actor.operator("reviewer-1", reviewer=True)


def _res(rid: str, **kw) -> Resource:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    base = {"id": rid, "type": "article", "title": f"Title {rid}", "summary": "A summary long enough.",
            "body": "Body text.", "topics": ["sleep"], "duration_minutes": 4,
            "status": "approved", "reviewed_by": "reviewer-1"}
    base.update(kw)
    return Resource.model_validate(base)


def test_upsert_is_idempotent_and_audited(sql_engine) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    store = CatalogStore(sql_engine)
    counts = store.import_resources([_res("art-a"), _res("art-b")], REVIEWER, approve=True, trusted=True)
    assert counts == {"created": 2, "updated": 0, "unchanged": 0, "approved": 0, "sent_to_review": 0}
    again = store.import_resources([_res("art-a"), _res("art-b")], EDITOR)
    assert again == {"created": 0, "updated": 0, "unchanged": 2, "approved": 0, "sent_to_review": 0}
    assert store.import_resources([_res("art-a", title="A new title")], EDITOR)["updated"] == 1
    history = store.history("art-a")
    assert [h["action"] for h in history] == ["create", "update"]
    assert history[1]["actor"] == "editor-7"
    assert history[1]["changes"]["title"] == {"old": "Title art-a", "new": "A new title"}
    assert store.get("art-a").version == 2


def test_only_approved_non_retired_is_servable_and_review_keeps_last_approved(sql_engine) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    store = CatalogStore(sql_engine)
    store.import_resources([_res("art-ok"), _res("art-old")], REVIEWER, approve=True, trusted=True)
    store.import_resources([_res("art-draft", status="draft", reviewed_by=None)], EDITOR)
    store.review("art-old", "retire", EDITOR)
    assert [r.id for r in store.servable()] == ["art-ok"]
    # an edit back under review keeps the approved text serving
    store.import_resources([_res("art-ok", body="Changed body.", status="in_review")], EDITOR)
    served = store.servable()
    assert [r.body for r in served] == ["Body text."]


@pytest.mark.parametrize("fmt", ["json", "jsonl", "yaml", "csv"])
def test_export_import_round_trip_is_exact(tmp_path: Path, fmt: str) -> None:
    seed = load_seed_catalog()
    path = tmp_path / f"catalog.{fmt}"
    path.write_text(write_catalog(seed, fmt))
    again = read_catalog_file(path)
    assert [r.model_dump() for r in again] == [r.model_dump() for r in seed]


def test_a_bad_file_lists_every_problem_and_nothing_is_returned(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    good = _res("art-good").model_dump_json()
    path.write_text("\n".join([
        good,
        '{"id": "art-x", "type": "article"}',
        "{not json",
        good,
    ]))
    with pytest.raises(CatalogFileError) as info:
        read_catalog_file(path)
    problems = info.value.problems
    records = {p.record for p in problems}
    assert records == {2, 3, 4}
    assert any(p.field == "title" for p in problems if p.record == 2)
    assert any("repeats record 1" in p.reason for p in problems)
