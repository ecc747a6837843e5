"""The local run record, the source of truth of every sweep. No torch, no Hydra.

A run directory holds ``config.yaml`` (the resolved config), ``metrics.jsonl`` (one JSON record
per logged step and evaluation), ``status.json`` (running / failed, with the reason), and,
written atomically only when the run succeeds, ``result.json``. ``load(path)`` turns every
``result.json`` below ``path`` into a tidy DataFrame with one row per run.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd

from scaling.core.io import read_json
from scaling.runs.layout import CONFIG, METRICS, RESULT, SCHEMA_VERSION, STATUS  # noqa: F401
from scaling.runs.record import flatten_result


def result_files(path: str | os.PathLike) -> list[Path]:
    """Every result.json at or below ``path`` (a run dir, a sweep dir or a tree of sweeps).

    Files below a hidden directory (``.name``, e.g. a staging or cache folder) are skipped; only
    the parts of the path below ``path`` count, so ``../runs/smoke`` finds its runs.
    """
    root = Path(path)
    if root.is_file() and root.name == RESULT:
        return [root]
    return sorted(p for p in root.rglob(RESULT) if not _hidden(p.relative_to(root)))


def _hidden(relative: Path) -> bool:
    """Whether any part of ``relative`` (a path below the searched directory) is a dot-name."""
    return any(part.startswith(".") for part in relative.parts)


def load(path: str | os.PathLike, *, include_failed: bool = False) -> pd.DataFrame:
    """Tidy frame, one row per finished run under ``path``.

    Columns include run_id, sweep, data_type, model, seed, budget_flops, flops (achieved, under
    ``flops_convention``), params (the N of that convention), tokens, unique_tokens, epochs,
    loss (held-out loss on the data type's own domain), val_<domain>_loss/bpb, acc_<task>,
    train_documents (distinct documents or problems drawn for training),
    flops_<convention>, params_<convention>, params_group_<group>, wall_seconds, ...
    With ``include_failed`` also failed runs (status 'failed', with ``reason``).
    """
    rows = []
    for f in result_files(path):
        rec = read_json(f)
        if rec is None:
            continue
        row = flatten_result(rec)
        row["run_dir"] = str(f.parent)
        rows.append(row)
    if include_failed:
        for f in sorted(Path(path).rglob(STATUS)):
            st = read_json(f)
            if st and st.get("state") == "failed" and not (f.parent / RESULT).exists():
                rows.append(
                    {
                        "run_id": st.get("run_id"),
                        "status": "failed",
                        "reason": st.get("reason"),
                        "run_dir": str(f.parent),
                        **st.get("labels", {}),
                    }
                )
    df = pd.DataFrame(rows)
    if not df.empty and "run_id" in df:
        df = df.sort_values([c for c in ("data_type", "budget_flops", "params", "seed") if c in df])
        df = df.reset_index(drop=True)
    return df


def load_curves(path: str | os.PathLike) -> pd.DataFrame:
    """Learning curves of finished runs: one row per logged step (train loss) or evaluation."""
    frames = []
    for f in result_files(path):
        rec = read_json(f) or {}
        mpath = f.parent / METRICS
        if not mpath.exists():
            continue
        with open(mpath) as fh:
            recs = [json.loads(line) for line in fh if line.strip()]
        if not recs:
            continue
        df = pd.DataFrame(recs)
        for key in ("run_id", "data_type", "model", "params", "budget_flops", "seed"):
            df[key] = rec.get(key)
        frames.append(df)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def accuracy_columns(df: pd.DataFrame) -> list[str]:
    """The acc_<task> columns that hold at least one value."""
    return [c for c in df.columns if c.startswith("acc_") and df[c].notna().any()]
