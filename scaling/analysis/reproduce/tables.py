"""Where each published table comes from, how ``--data`` finds it, and the column check.

The package ships no third-party table: a missing or wrong table is a ``UserError`` of one line
that names the file, its repository and path (from the anchors' PROVENANCE.md) or the missing
columns.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from scaling.core.errors import UserError


@dataclass(frozen=True)
class TableSpec:
    """A published table: its file name, the columns a reproduction reads, and where to get it
    (``origin``: repository, path, commit; verbatim copy or derived)."""

    file: str
    columns: tuple[str, ...]
    origin: str

    def where(self) -> str:
        return f"{self.file} comes from {self.origin}"


def locate(spec: TableSpec, data: str | Path | None, *, primary: bool) -> Path:
    """The path of ``spec``'s table under ``--data``: the file itself when ``data`` is a file and
    this is the reproduction's ``primary`` table, else ``spec.file`` in ``data`` (a directory) or
    next to ``data`` (a file). ``UserError`` saying where to get it when it is not there."""
    if data is None:
        raise UserError(
            f"--data is required: pass {spec.file} or the folder holding it; it comes from "
            f"{spec.origin}"
        )
    p = Path(data)
    if p.is_dir():
        path = p / spec.file
    elif p.is_file():
        path = p if primary else p.parent / spec.file
    else:
        raise UserError(f"--data {data}: no such file or directory; {spec.where()}")
    if not path.is_file():
        raise UserError(f"{path}: not found; {spec.where()}")
    return path


def read(spec: TableSpec, path: Path) -> pd.DataFrame:
    """The table at ``path`` with ``spec``'s columns checked; ``UserError`` naming every missing
    column (and the expected table) or an unreadable file."""
    from scaling.analysis.tables import _read

    df = _read(path)
    missing = [c for c in spec.columns if c not in df.columns]
    if missing:
        raise UserError(
            f"{path}: missing column(s) {', '.join(repr(c) for c in missing)}; expected "
            f"{spec.file}, which comes from {spec.origin}"
        )
    if df.empty:
        raise UserError(f"{path}: the table has no rows; {spec.where()}")
    return df
