"""Solace: a safe, private recommender of self-help mental-health content.

This package is the application on top of the layers (see docs/architecture.md): the
command line, the offline jobs, the quick start and ``solace serve``. Nothing imports it.
"""

__version__ = "0.1.0"
