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

RESULT = "result.json"
STATUS = "status.json"
METRICS = "metrics.jsonl"
CONFIG = "config.yaml"
SCHEMA_VERSION = 1


def atomic_write_json(path: Path, obj: Any) -> None:
    """Write JSON to a temporary file, fsync, then rename: readers never see a partial file."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w") as fh:
        json.dump(obj, fh, indent=1, sort_keys=True, default=_json_default)
        fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _json_default(obj: Any) -> Any:
    if hasattr(obj, "item"):
        return obj.item()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def append_jsonl(path: Path, record: dict[str, Any]) -> None:
    with open(path, "a") as fh:
        fh.write(json.dumps(record, default=_json_default) + "\n")


def read_json(path: Path) -> dict[str, Any] | None:
    try:
        with open(path) as fh:
            return json.load(fh)
    except (OSError, json.JSONDecodeError):
        return None


def result_files(path: str | os.PathLike) -> list[Path]:
    """Every result.json at or below ``path`` (a run dir, a sweep dir or a tree of sweeps)."""
    root = Path(path)
    if root.is_file() and root.name == RESULT:
        return [root]
    return sorted(
        p for p in root.rglob(RESULT) if not any(part.startswith(".") for part in p.parts)
    )


def flatten_result(rec: dict[str, Any]) -> dict[str, Any]:
    """One tidy row: scalars kept, per-domain/per-convention dicts spread into columns."""
    row = {k: v for k, v in rec.items() if not isinstance(v, dict | list)}
    for domain, m in rec.get("val", {}).items():
        row[f"val_{domain}_loss"] = m.get("loss")
        row[f"val_{domain}_bpb"] = m.get("bpb")
    for task, m in rec.get("task", {}).items():
        row[f"acc_{task}"] = m.get("accuracy")
        row[f"task_n_{task}"] = m.get("n")  # problems scored: the binomial n of the accuracy
        for split in ("heldout_split", "train_split"):  # tasks scored on a published test file
            if f"accuracy_{split}" in m:
                row[f"{split}_acc_{task}"] = m[f"accuracy_{split}"]
    for domain, spec in rec.get("eval_specs", {}).items():
        row[f"evalspec_{domain}"] = spec
    sources = rec.get("data_sources") or {}
    if sources and all("pool_documents" in s for s in sources.values()):
        row["train_documents"] = sum(s["pool_documents"] for s in sources.values())
    for conv, v in rec.get("flops_by_convention", {}).items():
        row[f"flops_{conv}"] = v
    for conv, v in rec.get("params_by_convention", {}).items():
        row[f"params_{conv}"] = v
    for group, v in rec.get("params_by_group", {}).items():
        row[f"params_group_{group}"] = v
    for k, v in rec.get("data_cost", {}).items():
        row[f"data_cost_{k}"] = v
    return row


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
