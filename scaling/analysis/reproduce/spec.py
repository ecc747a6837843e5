"""One reproduction's entry in the registry: its tables and the function that runs it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from scaling.analysis.reproduce.result import Reproduction
from scaling.analysis.reproduce.tables import TableSpec

# run(frames by file name, the paths read, bootstrap resamples, seed) -> Reproduction
Runner = Callable[[dict[str, pd.DataFrame], list[str], int, int], Reproduction]


@dataclass(frozen=True)
class Spec:
    """``tables[0]`` is the primary table (``--data FILE`` names it); the others are looked up
    beside it. ``default_bootstrap`` is chosen per reproduction for its runtime (see each
    module's ``DEFAULT_BOOTSTRAP``)."""

    name: str
    title: str
    tables: tuple[TableSpec, ...]
    default_bootstrap: int
    run: Runner
