from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from sqlalchemy import select

from storage.db import get_engine
from storage.embeddings import (
    TEXT_CACHE_FILE,
    EmbeddingStore,
    TextVectorCache,
    embed_cached,
    embed_texts,
    text_hash,
)
from storage.tables import text_vectors_table


def test_embedding_is_incremental_by_content_hash(tmp_path, encoder) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    store = EmbeddingStore(get_engine(f"sqlite:///{tmp_path / 'e.db'}"))
    texts = {"a": "Box breathing for a racing mind", "b": "Finding people when you feel alone"}
    first = embed_texts(texts, store, encoder)
    assert (first.encoded, first.reused) == (2, 0)
    again = embed_texts(texts, store, encoder)
    assert (again.encoded, again.reused) == (0, 2)
    changed = embed_texts({**texts, "b": "Sleep wind-down routine"}, store, encoder)
    assert (changed.encoded, changed.reused) == (1, 1)
    m = store.matrix(encoder.name, ["a", "b"])
    assert m.shape == (2, encoder.dim) and np.allclose(np.linalg.norm(m, axis=1), 1.0, atol=1e-4)
    sleep = encoder.encode(["how to fall asleep"])[0]
    assert float(m[1] @ sleep) > float(m[0] @ sleep)


# ----------------------------------------------------------------------------- file texts
class CountingEncoder:
    """The real session encoder, counting the texts it is asked to encode."""

    def __init__(self, inner) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
        self.inner = inner
        self.name: str = inner.name
        self.dim: int = inner.dim
        self.calls: list[list[str]] = []

    def encode(self, texts: list[str], batch_size: int = 64, progress: bool = False) -> np.ndarray:
        self.calls.append(list(texts))
        return self.inner.encode(texts, batch_size=batch_size, progress=progress)

    @property
    def encoded(self) -> int:
        return sum(len(c) for c in self.calls)


TEXTS = {
    "i1": "Box breathing for a racing mind",
    "i2": "Finding people when you feel alone",
    "i3": "A sleep wind-down routine",
    "i4": "Talking to someone you trust about a hard week",
}


def _write_texts(path: Path, texts: dict[str, str]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["item_id", "text"])
        writer.writerows(texts.items())
    return path


@pytest.fixture
def counting(encoder, monkeypatch: pytest.MonkeyPatch) -> CountingEncoder:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    """Every place that asks for the process-wide encoder gets the counting wrapper."""
    wrapper = CountingEncoder(encoder)
    monkeypatch.setattr("core.encoder.get_encoder", lambda *_a, **_k: wrapper)
    monkeypatch.setattr("solace.jobs.get_encoder", lambda *_a, **_k: wrapper)
    return wrapper


def test_file_texts_are_cached_per_text_with_model_name_and_dim(tmp_path: Path, counting: CountingEncoder) -> None:
    cache = TextVectorCache.in_dir(tmp_path / "cache")
    texts = list(TEXTS.values())
    first, report = embed_cached(texts, cache, counting.name, lambda: counting)
    assert (report.total, report.encoded, report.reused) == (4, 4, 0) and counting.encoded == 4
    assert first.shape == (4, counting.dim)
    np.testing.assert_allclose(first, counting.inner.encode(texts), atol=1e-5)

    counting.calls.clear()
    again, report = embed_cached(texts, cache, counting.name, lambda: counting)
    assert (report.encoded, report.reused) == (0, 4) and counting.calls == []
    np.testing.assert_array_equal(again, first)

    changed = [*texts[:2], "How to ask for help at work", texts[3], texts[0]]  # one new text, one repeated
    vectors, report = embed_cached(changed, cache, counting.name, lambda: counting)
    assert counting.calls == [["How to ask for help at work"]]
    assert (report.total, report.encoded, report.reused) == (4, 1, 3)
    np.testing.assert_array_equal(vectors[4], first[0])

    with cache.engine.connect() as conn:
        rows = conn.execute(select(text_vectors_table)).all()
    assert len(rows) == 5 == cache.count(counting.name)
    assert {r.model_name for r in rows} == {counting.name} and {r.dim for r in rows} == {counting.dim}
    assert {r.text_hash for r in rows} == {text_hash(t) for t in [*texts, changed[2]]}
    assert cache.count("another-model") == 0  # a change of model re-encodes everything
    cache.close()


def test_workbench_loading_reuses_the_per_text_cache(tmp_path: Path, counting: CountingEncoder) -> None:
    from training.data_io import embed_with_cache

    cache_dir = tmp_path / "cache"
    cache_dir.mkdir()
    (cache_dir / "emb-all-MiniLM-L6-v2-0123456789abcdef0123.npy").write_bytes(b"old")
    texts = list(TEXTS.values())
    first = embed_with_cache(texts, cache_dir)
    assert counting.encoded == 4 and first.shape == (4, counting.dim)
    assert not list(cache_dir.glob("emb-*.npy"))  # the former whole-list files do not pile up
    counting.calls.clear()
    edited = [texts[0], texts[1] + " tonight", texts[2], texts[3]]
    second = embed_with_cache(edited, cache_dir)
    assert counting.calls == [[edited[1]]]
    np.testing.assert_array_equal(second[[0, 2, 3]], first[[0, 2, 3]])


def _cli(args: list[str], home: Path):  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    from solace.cli import cli

    env = {"SOLACE_HOME": str(home), "SOLACE_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    return CliRunner().invoke(cli, args, env=env)


def test_embed_cli_on_item_text_files_then_train_encodes_nothing(tmp_path: Path, counting: CountingEncoder) -> None:
    home = tmp_path / "home"
    texts = _write_texts(tmp_path / "texts.csv", TEXTS)
    result = _cli(["embed", "--item-text", str(texts)], home)
    assert result.exit_code == 0, result.output
    assert "4 texts: 4 encoded, 0 unchanged" in result.stdout
    result = _cli(["embed", "--item-text", str(texts)], home)
    assert "4 texts: 0 encoded, 4 unchanged" in result.stdout

    _write_texts(texts, {**TEXTS, "i3": "A gentler sleep wind-down routine"})
    copy = _write_texts(tmp_path / "copy.csv", {"x1": TEXTS["i1"]})  # same text, other file and id
    counting.calls.clear()
    result = _cli(["embed", "--item-text", str(texts), "--item-text", str(copy)], home)
    assert result.exit_code == 0, result.output
    assert "4 texts: 1 encoded, 3 unchanged" in result.stdout
    assert counting.calls == [["A gentler sleep wind-down routine"]]

    interactions = tmp_path / "interactions.csv"
    interactions.write_text("user_id,item_id\nu1,i1\nu1,i2\nu2,i2\nu2,i3\nu3,i4\nu3,i1\n", encoding="utf-8")
    counting.calls.clear()
    result = _cli(["train", "--algorithm", "popularity", "--interactions", str(interactions),
                   "--item-text", str(texts)], home)
    assert result.exit_code == 0, result.output
    assert counting.calls == []  # everything was embedded by `solace embed`
    version = re.search(r"model version (\S+)", result.stdout).group(1)
    manifest = json.loads((home / "models" / version / "manifest.json").read_text())
    assert manifest["embedding_model"] == counting.name and manifest["embedding_dim"] == counting.dim


def test_embed_cli_refuses_a_bad_file_and_stores_nothing(tmp_path: Path, counting: CountingEncoder) -> None:
    home = tmp_path / "home"
    good = _write_texts(tmp_path / "good.csv", TEXTS)
    bad = tmp_path / "bad.csv"
    bad.write_text("item_id,text\nb1,fine\nb2,\n", encoding="utf-8")
    result = _cli(["embed", "--item-text", str(good), "--item-text", str(bad)], home)
    assert result.exit_code != 0
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error:") and "bad.csv:3: empty text" in lines[0], result.output
    assert counting.calls == []
    cache_file = home / "cache" / TEXT_CACHE_FILE
    assert not cache_file.exists() or TextVectorCache(cache_file).count() == 0


def test_a_configured_model_that_is_not_a_folder_is_named_in_a_clear_error(tmp_path) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    import pytest

    from core.encoder import Encoder

    with pytest.raises(ValueError, match="is not a folder holding a sentence-transformers model"):
        Encoder(str(tmp_path / "no-such-model"))
