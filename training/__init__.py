"""Offline jobs: embed the catalog, build datasets, train and evaluate models, keep versions."""
