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
from typing import Any

import pandas as pd

from scaling.core.errors import UserError
from scaling.runs.layout import CONFIG, METRICS, RESULT, SCHEMA_VERSION, STATUS  # noqa: F401
from scaling.runs.record import flatten_result

# keys every result.json holds (runs.record.build_record) that a row of the tidy frame needs
RECORD_KEYS = ("run_id", "data_type", "budget_flops", "params", "tokens", "loss")


def repair_hint(run_dir: Path) -> str:
    """How to mend a damaged record of ``run_dir`` (written atomically: damage, not a write in
    progress)."""
    return (
        f"restore it from a copy, or delete {run_dir} and relaunch the sweep with the same "
        "overrides to train that run again"
    )


def read_object(path: Path) -> dict[str, Any] | None:
    """The JSON object in ``path`` (a run's result.json or status.json); None when it does not
    exist. ``UserError`` naming the file when it cannot be read, is not valid JSON or is not an
    object."""
    fix = repair_hint(path.parent)
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: cannot be read ({exc}); {fix}") from None
    except json.JSONDecodeError as exc:
        raise UserError(
            f"{path}: not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno}); {fix}"
        ) from None
    if not isinstance(obj, dict):
        raise UserError(f"{path}: holds a JSON {type(obj).__name__}, not an object; {fix}")
    return obj


def read_result(path: Path) -> dict[str, Any]:
    """A finished run's record, checked to hold the keys a row needs (``RECORD_KEYS``)."""
    rec = read_object(path) or {}
    missing = [k for k in RECORD_KEYS if k not in rec]
    if missing:
        raise UserError(
            f"{path}: missing key {missing[0]!r}; not a record scaling-train writes (it holds "
            f"{', '.join(RECORD_KEYS)}); {repair_hint(path.parent)}"
        )
    return rec


def read_metrics(path: Path) -> list[dict[str, Any]]:
    """The records of a run's metrics.jsonl (a JSON object a line). A last line cut short
    (no newline: a kill mid-append) is skipped, as the trainer's readers skip it; any other
    line that is not a JSON object is a ``UserError`` naming the file and line."""
    try:
        lines = path.read_text(encoding="utf-8").split("\n")
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: cannot be read ({exc}); {repair_hint(path.parent)}") from None
    out = []
    for i, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            if i == len(lines):  # the unterminated last line
                continue
            raise UserError(
                f"{path}: line {i} is not valid JSON ({exc.msg}); {repair_hint(path.parent)}"
            ) from None
        if not isinstance(rec, dict):
            raise UserError(f"{path}: line {i} is not a JSON object; {repair_hint(path.parent)}")
        out.append(rec)
    return out


def _existing(path: str | os.PathLike) -> Path:
    root = Path(path)
    if not root.exists():
        raise UserError(
            f"{path}: no such file or directory; pass a sweep directory (e.g. runs/quickstart), "
            "a run directory or a result.json"
        )
    if root.is_file() and root.name != RESULT:
        raise UserError(
            f"{path}: not a sweep directory; pass a sweep directory, a run directory or a "
            f"{RESULT} (a table of runs is read with scaling.analysis.tables.read_table)"
        )
    return root


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
    for f in result_files(_existing(path)):
        row = flatten_result(read_result(f))
        row["run_dir"] = str(f.parent)
        rows.append(row)
    if include_failed:
        for f in sorted(Path(path).rglob(STATUS)):
            st = read_object(f)
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
    for f in result_files(_existing(path)):
        rec = read_result(f)
        mpath = f.parent / METRICS
        if not mpath.exists():
            continue
        recs = read_metrics(mpath)
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
