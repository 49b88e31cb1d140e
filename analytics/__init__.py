"""Outcome measurement and experiments: the statistics, pure functions over counts."""
