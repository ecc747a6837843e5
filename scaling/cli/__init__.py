"""Command-line layer: the only package that imports Hydra."""
