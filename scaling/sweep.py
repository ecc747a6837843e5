"""Sweep planning and run identity. No torch, no Hydra.

A run's identity is a hash of its resolved *scientific* config (seed, model, data, budget,
optim, tokenizer, eval), never of logging, launcher, thread or path settings. The id names the
run directory and is the wandb run id, so re-launching a sweep finds finished runs and skips
them, and extending a grid runs only the new points.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any

from scaling import results

SCIENTIFIC_SECTIONS = ("seed", "model", "data", "budget", "optim", "tokenizer", "eval")


def canonical(obj: Any) -> Any:
    """Normalise numbers so 1e11 and 100000000000 hash alike; sort keys."""
    if isinstance(obj, dict):
        return {str(k): canonical(v) for k, v in sorted(obj.items(), key=lambda kv: str(kv[0]))}
    if isinstance(obj, list | tuple):
        return [canonical(v) for v in obj]
    if isinstance(obj, float) and math.isfinite(obj) and obj.is_integer():
        return int(obj)
    return obj


def config_hash(config: dict[str, Any]) -> str:
    """sha256 of the canonical JSON of the scientific sections of a run config dict."""
    sci = {k: config[k] for k in SCIENTIFIC_SECTIONS if k in config}
    blob = json.dumps(canonical(sci), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


def _flops_label(flops: float) -> str:
    mantissa, exponent = f"{flops:.1e}".split("e")
    mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa}e{int(exponent)}"


def run_id(config: dict[str, Any]) -> str:
    """Readable and unique: ``<data>-<model>-<flops>-s<seed>-<hash10>``."""
    label = "-".join(
        [
            str(config["data"]["name"]),
            str(config["model"]["name"]),
            _flops_label(float(config["budget"]["flops"])),
            f"s{config['seed']}",
        ]
    )
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in label)
    return f"{safe}-{config_hash(config)[:10]}"


def run_state(run_dir: Path) -> str:
    """done | failed | running | interrupted | pending, from the files in ``run_dir``.

    ``running`` means status.json says so and the lock's holder is alive; when the holder is
    gone (killed, node lost) the run is ``interrupted`` and the next launch resumes it.
    """
    from scaling.lock import RunLock

    if (run_dir / results.RESULT).exists():
        return "done"
    st = results.read_json(run_dir / results.STATUS)
    if not st:
        return "pending"
    state = str(st.get("state", "pending"))
    if state == "running":
        lock = RunLock(run_dir)
        if not lock.path.exists() or lock.holder_gone(lock.read()):
            return "interrupted"
    return state


STATES = ("done", "running", "interrupted", "failed", "pending", "skipped")


def scan(sweep_dir: Path) -> list[dict[str, Any]]:
    """One row per run directory under ``sweep_dir``: id, labels, state, progress, ETA, reason."""
    rows = []
    for run_dir in sorted(p for p in Path(sweep_dir).iterdir() if p.is_dir()):
        if run_dir.name.startswith("."):
            continue
        st = results.read_json(run_dir / results.STATUS) or {}
        res = results.read_json(run_dir / results.RESULT)
        if not st and res is None and not (run_dir / results.CONFIG).exists():
            continue
        labels = (
            res and {k: res.get(k) for k in ("sweep", "data_type", "model", "budget_flops", "seed")}
        ) or st.get("labels", {})
        rows.append(
            {
                "run_id": run_dir.name,
                **labels,
                "state": run_state(run_dir),
                "step": (res or {}).get("steps", st.get("step")),
                "steps": (res or {}).get("steps", st.get("steps")),
                "eta_seconds": st.get("eta_seconds") if st.get("state") == "running" else None,
                "wall_seconds": (res or {}).get("wall_seconds"),
                "reason": st.get("reason"),
                "updated": st.get("updated"),
            }
        )
    return rows


def format_seconds(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "-"
    seconds = round(seconds)
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}h{m:02d}m" if h else (f"{m}m{s:02d}s" if m else f"{s}s")


def format_table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    """A plain fixed-width text table (what the CLI prints)."""
    cells = [[_cell(r.get(c)) for c in columns] for r in rows]
    widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(columns)]
    line = "  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join(out)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)
