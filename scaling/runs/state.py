"""Where each run of a sweep stands (done, running, interrupted, failed, pending), read from the
files of its run directory and its lock. No torch, no Hydra.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scaling.core import io
from scaling.runs import layout


def run_state(run_dir: Path) -> str:
    """done | failed | running | interrupted | pending, from the files in ``run_dir``.

    ``running`` means status.json says so and the lock's holder is alive; when the holder is
    gone (killed, node lost) the run is ``interrupted`` and the next launch resumes it.
    """
    from scaling.runs.lock import RunLock

    if (run_dir / layout.RESULT).exists():
        return "done"
    st = io.read_json(run_dir / layout.STATUS)
    if not st:
        return "pending"
    state = str(st.get("state", "pending"))
    if state == "running":
        lock = RunLock(run_dir)
        if not lock.path.exists() or lock.holder_gone(lock.read()):
            return "interrupted"
    return state


STATES = ("done", "running", "interrupted", "failed", "pending", "skipped")


def _progress_step(run_dir: Path, st: dict[str, Any], now: str) -> int | None:
    """The step a run stands at: for an interrupted run, the step its relaunch resumes from
    (its last checkpoint's, 0 without one), not the last step it reported before the kill."""
    if now != "interrupted":
        return st.get("step")
    if not (run_dir / layout.CHECKPOINT).exists():
        return 0
    ck = st.get("checkpoint_step")
    return ck if ck is not None else st.get("step")


def scan(sweep_dir: Path) -> list[dict[str, Any]]:
    """One row per run directory under ``sweep_dir``: id, labels, state, progress, ETA, reason."""
    rows = []
    for run_dir in sorted(p for p in Path(sweep_dir).iterdir() if p.is_dir()):
        if run_dir.name.startswith("."):
            continue
        st = io.read_json(run_dir / layout.STATUS) or {}
        res = io.read_json(run_dir / layout.RESULT)
        if not st and res is None and not (run_dir / layout.CONFIG).exists():
            continue
        labels = (
            res and {k: res.get(k) for k in ("sweep", "data_type", "model", "budget_flops", "seed")}
        ) or st.get("labels", {})
        now = run_state(run_dir)
        rows.append(
            {
                "run_id": run_dir.name,
                **labels,
                "state": now,
                "step": (res or {}).get("steps", _progress_step(run_dir, st, now)),
                "steps": (res or {}).get("steps", st.get("steps")),
                "eta_seconds": st.get("eta_seconds") if now == "running" else None,
                "wall_seconds": (res or {}).get("wall_seconds"),
                "reason": st.get("reason"),
                "updated": st.get("updated"),
            }
        )
    return rows
