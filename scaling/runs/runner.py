"""Run one config into its run directory: skip, lock, resume, train, publish the record.

``execute(run)`` is what every launcher job calls (through ``scaling.cli.train``). It skips a
finished run, writes ``config.yaml``, streams ``metrics.jsonl``, keeps ``status.json`` current
(state, step, ETA, host, pid) and writes ``result.json`` atomically at the end. A diverged or
crashed run is marked failed with its reason and the sweep goes on.
"""

from __future__ import annotations

import sys
import traceback
from pathlib import Path
from typing import Any

import yaml

from scaling.core import io
from scaling.core.config import RunConfig
from scaling.core.errors import UserError
from scaling.runs import identity, layout, state
from scaling.runs.hooks import RecordHooks, truncate_metrics
from scaling.runs.record import build_record
from scaling.runs.tracking import make_mirror


def remove_stale_temporaries(run_dir: Path) -> list[Path]:
    """Delete half-written ``.<name>.<pid>.tmp`` files of atomic writes a killed holder left
    behind (only called with the run's lock held, so no live writer owns them)."""
    stale = sorted(run_dir.glob(".*.tmp"))
    for path in stale:
        path.unlink(missing_ok=True)
    return stale


def execute(run: RunConfig) -> dict[str, Any] | None:
    """Train ``run`` into ``<runtime.out_dir>/<run_id>`` unless it is done or held elsewhere.

    Resumes from ``checkpoint.pt`` when an earlier attempt was interrupted. Returns the result
    record, or None when the run failed (status.json says why), another process holds it, or
    the grid window skips it (nothing is written).
    Config errors (UserError) propagate before anything is written: the CLI prints one line.
    """
    from scaling.runs.lock import RunLock

    rid = identity.run_id(run.to_dict())
    run_dir = Path(run.runtime.out_dir) / rid
    found = state.run_state(run_dir)
    if found == "done":
        print(f"[{rid}] done already, skipped", file=sys.stderr)
        return io.read_json(run_dir / layout.RESULT)
    if found == "failed" and not run.runtime.rerun_failed:
        print(f"[{rid}] failed before, skipped (rerun with +rerun_failed=true)", file=sys.stderr)
        return None
    from scaling.train.plan import make_plan

    plan = make_plan(run)  # the one plan of this run: shape, steps, tokens, LR, window
    if plan.skip_reason:
        print(f"[{rid}] outside the grid window ({plan.skip_reason}), skipped", file=sys.stderr)
        return None
    from scaling.train.trainer import Trainer  # torch is imported only to train

    trainer = Trainer(run, plan=plan)  # validates the budget before anything is written
    run_dir.mkdir(parents=True, exist_ok=True)
    lock = RunLock(run_dir)
    if not lock.acquire():
        h = lock.holder or {}
        print(f"[{rid}] held by {h.get('host')}:{h.get('pid')}, skipped", file=sys.stderr)
        return None
    try:
        if state.run_state(run_dir) == "done":  # finished while we were starting
            print(f"[{rid}] done already, skipped", file=sys.stderr)
            return io.read_json(run_dir / layout.RESULT)
        remove_stale_temporaries(run_dir)
        return _train_locked(run, rid, run_dir, trainer, lock)
    finally:
        lock.release()


def _resume(trainer: Any, rid: str, run_dir: Path) -> int | None:
    """Load the checkpoint if there is one; the step resumed from, else None."""
    from scaling.train.checkpoint import load_checkpoint

    ckpt = run_dir / layout.CHECKPOINT
    if not ckpt.exists():
        return None
    try:
        trainer.load_state_dict(load_checkpoint(ckpt))
    except Exception as exc:  # noqa: BLE001 - an unreadable checkpoint means a fresh start
        print(f"[{rid}] checkpoint unreadable ({exc}); starting over", file=sys.stderr)
        ckpt.unlink(missing_ok=True)
        return None
    truncate_metrics(run_dir / layout.METRICS, trainer.step)
    print(f"[{rid}] resuming from step {trainer.step}", file=sys.stderr)
    return trainer.step


def _train_locked(
    run: RunConfig, rid: str, run_dir: Path, trainer: Any, lock: Any
) -> dict[str, Any] | None:
    from scaling.train.trainer import Diverged

    resumed_from = _resume(trainer, rid, run_dir)
    if resumed_from is None:
        (run_dir / layout.METRICS).unlink(missing_ok=True)
    with open(run_dir / layout.CONFIG, "w") as fh:
        yaml.safe_dump({"run_id": rid, **run.to_dict()}, fh, sort_keys=False)
    mirror = make_mirror(run, rid, run_dir)
    hooks = RecordHooks(run, rid, run_dir, mirror, lock)
    exit_code = 1
    try:
        res = trainer.run_to_end(hooks)
        record = build_record(run, rid, res)
        record["resumed_from_step"] = resumed_from
        record["checkpoints"] = hooks.checkpoints
        record["checkpoint_seconds"] = hooks.checkpoint_seconds
        io.atomic_write_json(run_dir / layout.RESULT, record)
        hooks.status("done", step=res.steps, steps=res.steps)
        (run_dir / layout.CHECKPOINT).unlink(missing_ok=True)
        print(
            f"[{rid}] trained: loss {record['loss']:.4f} on '{record['loss_domain']}', "
            f"{record['wall_seconds']:.1f}s",
            file=sys.stderr,
        )
        mirror.summary(record)
        exit_code = 0
        return record
    except Diverged as exc:
        hooks.status("failed", reason=f"diverged: {exc}")
        print(f"[{rid}] failed: diverged: {exc}", file=sys.stderr)
        return None
    except UserError:
        raise
    except Exception as exc:  # noqa: BLE001 - a crash fails this run, not the sweep
        (run_dir / "error.log").write_text(traceback.format_exc())
        hooks.status("failed", reason=f"{type(exc).__name__}: {exc}")
        print(
            f"[{rid}] failed: {type(exc).__name__}: {exc} (see {run_dir}/error.log)",
            file=sys.stderr,
        )
        return None
    finally:
        hooks.close()
        mirror.finish(exit_code)
