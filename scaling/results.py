"""The notebook entry point to a sweep's records (``df = scaling.results.load("runs/...")``):
the public names of ``scaling.analysis.results``, where they are defined. No torch, no Hydra."""

from scaling.analysis.results import accuracy_columns, load, load_curves, result_files

__all__ = ["accuracy_columns", "load", "load_curves", "result_files"]
