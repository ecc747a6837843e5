"""Rebuild published scaling-law figures and numbers from the published run tables.

``REPRODUCTIONS`` maps a name to its ``Spec`` (tables, default bootstrap, runner):

- ``chinchilla``: Besiroglu et al. 2024's refit of the Chinchilla law on Epoch's points of
  Hoffmann et al. 2022 Fig. 4 (``chinchilla``);
- ``datablations``: R_D*, R_N* of Muennighoff et al. 2023's data-constrained law (``datablations``);
- ``porian``: Porian et al. 2024's per-configuration exponent ladder (``porian``);
- ``gadre``: Gadre et al. 2024's over-training law extrapolated to 1.4B and 6.9B (``gadre``).

Each run returns a ``Reproduction`` (``result``): rows of quantity, ours with a 95% interval,
published value and source, difference; a figure; ``write`` puts figure.png/.pdf, numbers.json
and numbers.md under ``<out>/<name>/``. No table ships with the package: ``prepare`` finds the
tables under ``--data`` and says in one line where to get a missing one.
"""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd

from scaling.analysis.reproduce import chinchilla, datablations, gadre, porian
from scaling.analysis.reproduce.result import Estimate, Published, Reproduction, Row
from scaling.analysis.reproduce.spec import Spec
from scaling.analysis.reproduce.tables import TableSpec, locate, read
from scaling.core.errors import UserError

REPRODUCTIONS: dict[str, Spec] = {
    s.name: s for s in (chinchilla.SPEC, datablations.SPEC, porian.SPEC, gadre.SPEC)
}
# Fewest resamples accepted: below 10 the 2.5th and 97.5th percentiles are both interpolated
# between the two most extreme resamples (a 95% percentile interval has 2.5% x B resamples in
# each tail); runs with a few dozen resamples are for tests, the defaults are for results.
MIN_BOOTSTRAP = 10

__all__ = [
    "MIN_BOOTSTRAP",
    "REPRODUCTIONS",
    "Estimate",
    "Prepared",
    "Published",
    "Reproduction",
    "Row",
    "Spec",
    "TableSpec",
    "check_bootstrap",
    "names",
    "prepare",
    "reproduce",
    "resolve",
]


def names() -> list[str]:
    return list(REPRODUCTIONS)


def resolve(name: str) -> list[Spec]:
    """The specs for ``name`` (one, or all for "all"); ``UserError`` listing the names."""
    if name == "all":
        return list(REPRODUCTIONS.values())
    if name not in REPRODUCTIONS:
        raise UserError(f"unknown reproduction {name!r}; choose one of {', '.join(names())} or all")
    return [REPRODUCTIONS[name]]


class Prepared:
    """A reproduction with its tables found and read (columns checked), ready to run."""

    def __init__(self, spec: Spec, paths: list[Path], frames: dict[str, pd.DataFrame]):
        self.spec, self.paths, self.frames = spec, paths, frames

    def run(self, bootstrap: int | None = None, seed: int = 0) -> Reproduction:
        """Run it with ``bootstrap`` resamples (None: the spec's default); times the run."""
        b = self.spec.default_bootstrap if bootstrap is None else int(bootstrap)
        check_bootstrap(b)
        t0 = time.perf_counter()
        rep = self.spec.run(self.frames, [str(p) for p in self.paths], b, seed)
        rep.seconds = time.perf_counter() - t0
        return rep


def check_bootstrap(b: int) -> None:
    if b < MIN_BOOTSTRAP:
        raise UserError(
            f"--bootstrap {b}: use {MIN_BOOTSTRAP} or more (every number carries a 95% "
            "bootstrap interval); the defaults are chosen per reproduction"
        )


def prepare(spec: Spec, data: str | Path | None) -> Prepared:
    """Find and read ``spec``'s tables under ``data`` (a file: the primary table, companions
    beside it; a directory: the known file names in it). ``UserError`` in one line for a missing
    file (with where to get it) or missing columns (named)."""
    paths = [locate(t, data, primary=(i == 0)) for i, t in enumerate(spec.tables)]
    frames = {t.file: read(t, p) for t, p in zip(spec.tables, paths, strict=True)}
    return Prepared(spec, paths, frames)


def reproduce(
    name: str, data: str | Path, *, bootstrap: int | None = None, seed: int = 0
) -> Reproduction:
    """Run one reproduction by name on the tables under ``data`` (the Python entry point; the
    CLI also accepts "all")."""
    if name == "all":
        raise UserError("reproduce(): give one name; `scaling reproduce all` runs them all")
    (spec,) = resolve(name)
    return prepare(spec, data).run(bootstrap, seed)
