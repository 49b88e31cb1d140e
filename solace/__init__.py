"""Solace: a safe, private recommender of self-help mental-health content.

This package holds what the other packages share: configuration, connections to the SQL
database and to Redis, the command line, and the quick start that wires every stage.
"""

__version__ = "0.1.0"
