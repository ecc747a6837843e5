"""A sweep's results as tables for pandas, polars, DuckDB or a spreadsheet. No torch, no Hydra.

``export_tables(sweep_dir)`` writes three files into the sweep directory:

- ``runs.parquet`` and ``runs.csv``: one row per finished run, the tidy frame of
  ``scaling.analysis.results.load`` plus ``budget`` (= ``budget_flops``, the column by which
  ``scaling fit`` on a table groups the isoFLOP budgets, as it does on the sweep directory);
- ``curves.parquet``: one row per logged training step (``kind`` "train") and per evaluation
  (``kind`` "eval") of every finished run, from its ``metrics.jsonl``: run_id, the run's labels,
  step, tokens, flops, loss and the held-out columns ``val_<domain>_loss`` / ``val_<domain>_bpb``
  (and ``acc_<task>`` at the final evaluation), named as in the runs table.

Columns holding dicts or lists are JSON-encoded strings in every file, so ``json.loads`` gives
them back from Parquet and CSV alike. Each file is written atomically (``core.io``): a reader
sees the previous table or the new one, never a partial one.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import pandas as pd

from scaling.analysis import results
from scaling.core.errors import UserError
from scaling.core.io import atomic_write_bytes, atomic_write_text, json_default, jsonable

RUNS_PARQUET = "runs.parquet"
RUNS_CSV = "runs.csv"
CURVES_PARQUET = "curves.parquet"
TABLES = (RUNS_PARQUET, RUNS_CSV, CURVES_PARQUET)
CURVE_LABELS = ("run_id", "data_type", "model", "params", "budget_flops", "seed")
CURVE_LEADING = (*CURVE_LABELS, "kind", "step", "tokens", "flops", "loss")


def export_tables(sweep_dir: str | os.PathLike) -> dict[str, Path]:
    """Write runs.parquet, runs.csv and curves.parquet into ``sweep_dir``; {file name: path}.

    Raises ``UserError`` when ``sweep_dir`` is not a directory, holds no finished run or a
    damaged record (then nothing is written).
    """
    root = Path(sweep_dir)
    if not root.is_dir():
        raise UserError(f"{root}: not a directory; pass a sweep directory such as runs/quickstart")
    runs = runs_table(root)
    if runs.empty:
        raise UserError(
            f"{root}: no finished runs (result.json) below this directory; "
            "pass the sweep directory that scaling-train wrote"
        )
    curves = curves_table(root)  # every record read before any table is written
    paths = {name: root / name for name in TABLES}
    write_parquet(runs, paths[RUNS_PARQUET])
    write_csv(runs, paths[RUNS_CSV])
    write_parquet(curves, paths[CURVES_PARQUET])
    return paths


def runs_table(sweep_dir: str | os.PathLike) -> pd.DataFrame:
    """One row per finished run: ``results.load`` with ``budget`` and nested cells as JSON."""
    df = results.load(sweep_dir)
    if not df.empty and "budget_flops" in df:
        df = df.assign(budget=df["budget_flops"])
    return encode_nested(df)


def curves_table(sweep_dir: str | os.PathLike) -> pd.DataFrame:
    """One row per logged step and per evaluation of every finished run, labels first."""
    df = results.load_curves(sweep_dir)
    if df.empty:
        return pd.DataFrame(columns=list(CURVE_LEADING))
    df = df.rename(columns=curve_column)
    if "final" in df:
        df["final"] = df["final"].eq(True)
    leading = [c for c in CURVE_LEADING if c in df]
    df = df[leading + [c for c in df.columns if c not in leading]]
    return encode_nested(df.reset_index(drop=True))


def curve_column(name: str) -> str:
    """A metrics.jsonl key as a table column: ``val/web/loss`` -> ``val_web_loss``,
    ``task/arithmetic/accuracy`` -> ``acc_arithmetic`` (the runs table's names)."""
    parts = name.split("/")
    if len(parts) == 3 and parts[0] == "task" and parts[2] == "accuracy":
        return f"acc_{parts[1]}"
    return "_".join(parts)


def encode_nested(df: pd.DataFrame) -> pd.DataFrame:
    """A copy whose object columns Parquet can store: a column holding a dict, list or tuple
    has every non-null cell JSON-encoded; one mixing scalar types has them as strings."""
    out = df.copy()
    for col in out.select_dtypes(include="object").columns:
        cells = [v for v in out[col] if not _missing(v)]
        if any(isinstance(v, dict | list | tuple) for v in cells):
            out[col] = out[col].map(_json_cell)
        elif len({type(v) for v in cells}) > 1:
            out[col] = out[col].map(lambda v: None if _missing(v) else str(v))
    return out


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _json_cell(value: Any) -> str | None:
    if _missing(value):
        return None
    return json.dumps(jsonable(value), sort_keys=True, default=json_default)


def write_parquet(df: pd.DataFrame, path: str | os.PathLike) -> None:
    """``df`` as Parquet at ``path``, written atomically (no index column)."""
    atomic_write_bytes(path, df.to_parquet(index=False))


def write_csv(df: pd.DataFrame, path: str | os.PathLike) -> None:
    """``df`` as CSV at ``path``, written atomically (no index column)."""
    atomic_write_text(path, df.to_csv(index=False))
