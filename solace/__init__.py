"""Solace: a safe, private recommender of self-help mental-health content.

This package holds what the other packages share: configuration, connections to the SQL
database and to Redis, the command line, and the quick start that wires every stage.
"""

__version__ = "0.1.0"

import os as _os

# implicit and numpy share OpenBLAS; its own thread pool fights implicit's threads (implicit
# warns and slows down), so default it to one thread unless the operator chose otherwise.
_os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
