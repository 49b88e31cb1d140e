"""Offline jobs: embed the catalog, build datasets, train and evaluate models, keep versions."""

import os as _os

# implicit and numpy share OpenBLAS; its own thread pool fights implicit's threads (implicit
# warns and slows down), so default it to one thread unless the operator chose otherwise.
_os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
