"""What every layer shares and that imports nothing of the project: settings, ids and
pseudonym rules, event and profile records, the catalog's vocabularies, logging and the
sentence encoder."""

import os as _os

# implicit and numpy share OpenBLAS; its own thread pool fights implicit's threads (implicit
# warns and slows down), so default it to one thread unless the operator chose otherwise.
# Here because every entry point imports core before numpy's BLAS starts its threads.
_os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
