"""The notebook entry point to a sweep's records (``df = scaling.results.load("runs/...")``):
the public names of ``scaling.analysis.results``, where they are defined, and the comparisons and
reproductions built from records and published tables. No torch, no Hydra.

- ``load``, ``load_curves``, ``result_files``, ``accuracy_columns``: the tidy tables of a sweep;
- ``process_contrasts(df)``: each trace arm against its outputs-only twin on the verified task,
  per budget, with Wilson and Newcombe intervals (``scaling.analysis.process``);
- ``fit_sweep(df)``: every law of the report fitted per data type, as ``scaling report`` does
  (``scaling.analysis.pipeline``); ``fit_frame(df, law)``: one law fitted to a table of runs
  (``scaling.analysis.tables``);
- ``reproduce(name, data)``: a published figure rebuilt from its run table
  (``scaling.analysis.reproduce``; ``name`` in chinchilla, datablations, porian, gadre).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scaling.analysis.pipeline import fit_sweep
from scaling.analysis.process import process_contrasts
from scaling.analysis.results import accuracy_columns, load, load_curves, result_files
from scaling.analysis.tables import fit_frame
from scaling.core.errors import UserError

__all__ = [
    "accuracy_columns",
    "fit_frame",
    "fit_sweep",
    "load",
    "load_curves",
    "process_contrasts",
    "reproduce",
    "result_files",
]


def reproduce(name: str, data: str | Path, bootstrap: int | None = None, seed: int = 0) -> Any:
    """The ``Reproduction`` of ``name`` from the published table(s) under ``data``: ``.rows``
    (ours with a 95% interval beside the published number and its source), ``.figure``,
    ``.caption``; as ``scaling reproduce NAME --data DATA`` makes it, without writing files."""
    from scaling.analysis import reproduce as rp
    from scaling.analysis.tables import check_published

    if name == "all":
        raise UserError(
            f"name 'all': reproduce() makes one reproduction; give one of "
            f"{', '.join(rp.names())} (`scaling reproduce all` runs them all)"
        )
    (spec,) = rp.resolve(name)
    return check_published(rp.prepare(spec, data)).run(bootstrap=bootstrap, seed=seed)
