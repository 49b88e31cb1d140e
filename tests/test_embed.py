from __future__ import annotations

import numpy as np

from solace.db import get_engine
from training.embed import EmbeddingStore, embed_texts


def test_embedding_is_incremental_by_content_hash(tmp_path, encoder) -> None:  # type: ignore[no-untyped-def]
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
