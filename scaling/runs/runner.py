"""Run configs into their run directories: skip, lock, resume, train (alone or packed), publish.

``execute(run)`` is what a launcher job calls for one run (through ``scaling.cli.train``);
``execute_pack(runs)`` is what the packing launcher calls for several (``scaling.cli.pack``).
Each run is handled on its own exactly as ``execute`` handles it: a finished run is skipped, a
run held by another process is skipped, ``config.yaml`` is written, ``metrics.jsonl`` streamed,
``status.json`` kept current (state, step, ETA, host, pid), a checkpoint resumed, and
``result.json`` written atomically when the run ends (a packed run publishes as soon as it
finishes, while the rest of its pack trains). A diverged or crashed run is marked failed with
its reason and the sweep goes on. Runs that can share a pack (``train.plan.pack_key``) train
as one batched computation (``train.pack_runner``), the rest alone.
"""

from __future__ import annotations

import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from scaling.core import faults, io
from scaling.core.config import RunConfig
from scaling.core.errors import UserError
from scaling.core.log import get_logger
from scaling.runs import identity, layout, state
from scaling.runs.hooks import RecordHooks, truncate_metrics
from scaling.runs.logs import close_run_logger, log_config, run_logger
from scaling.runs.record import build_record
from scaling.runs.tracking import make_mirror

Record = dict[str, Any]
log = get_logger(__name__)  # lines about runs not (or not yet) held here: console only


def remove_stale_temporaries(run_dir: Path) -> list[Path]:
    """Delete half-written ``.<name>.<pid>.tmp`` files of atomic writes a killed holder left
    behind (only called with the run's lock held, so no live writer owns them)."""
    stale = sorted(run_dir.glob(".*.tmp"))
    for path in stale:
        path.unlink(missing_ok=True)
    return stale


@dataclass
class _Planned:
    """A run that is to train here: its id, directory and (validated) trainer."""

    run: RunConfig
    rid: str
    run_dir: Path
    trainer: Any


@dataclass
class _Claimed(_Planned):
    """A planned run whose lock this process holds, resumed if it had a checkpoint."""

    lock: Any = None
    created: Path | None = None  # the outermost directory this claim made (None: it existed)
    hooks: Any = None
    mirror: Any = None
    resumed_from: int | None = None
    log: Any = None  # the run's logger: console and <run_dir>/train.log


def _tidy_done_run(run_dir: Path, rid: str) -> None:
    """Remove what a kill between publishing result.json and the end of ``_publish`` leaves in a
    done run: its checkpoint (nothing resumes a done run) and half-written temporaries (status).
    Only with the run's lock: a live publisher still holds it until it has finished."""
    from scaling.runs.lock import RunLock

    stale = run_dir / layout.CHECKPOINT
    if not (stale.exists() or any(run_dir.glob(".*.tmp"))):
        return
    lock = RunLock(run_dir)
    if not lock.acquire():
        return
    try:
        removed = remove_stale_temporaries(run_dir)
        if stale.exists():
            stale.unlink(missing_ok=True)
            removed.append(stale)
        names = ", ".join(p.name for p in removed)
        log.info(f"[{rid}] removed what a kill left beside its result: {names}")
    finally:
        lock.release()


def _plan(run: RunConfig) -> _Planned | Record | None:
    """The record of a finished run, None for a run to skip, else the run planned to train.
    Config errors (UserError) propagate before anything is written."""
    rid = identity.run_id(run.to_dict())
    run_dir = Path(run.runtime.out_dir) / rid
    found = state.run_state(run_dir)
    if found == "done":
        log.info(f"[{rid}] done already, skipped")
        _tidy_done_run(run_dir, rid)
        return io.read_json(run_dir / layout.RESULT)
    if found == "failed" and not run.runtime.rerun_failed:
        log.info(f"[{rid}] failed before, skipped (rerun with +rerun_failed=true)")
        return None
    from scaling.train.plan import make_plan

    plan = make_plan(run)  # the one plan of this run: shape, steps, tokens, LR, window
    if plan.skip_reason:
        log.info(f"[{rid}] outside the grid window ({plan.skip_reason}), skipped")
        return None
    from scaling.train.trainer import Trainer  # torch is imported only to train

    trainer = Trainer(run, plan=plan)  # validates the budget before anything is written
    _check_sources(run)
    return _Planned(run, rid, run_dir, trainer)


def _check_sources(run: RunConfig) -> None:
    """Refuse a bad generator, a missing local path or an offline hub id before the run writes
    anything."""
    from scaling.data.sources import check_source

    cache = run.runtime.cache_dir
    for key, src in run.data.mixture.items():
        check_source(src, cache, f"data.mixture.{key}")
    for key, src in run.eval.domains.items():
        check_source(src, cache, f"eval.domains.{key}")


def _claim(p: _Planned) -> _Claimed | Record | None:
    """Lock the run (None when another process holds it), resume its checkpoint and open its
    record: config.yaml, metrics.jsonl, status and the tracking mirror."""
    from scaling.runs.lock import RunLock

    created = _first_missing(p.run_dir)
    p.run_dir.mkdir(parents=True, exist_ok=True)
    lock = RunLock(p.run_dir)
    if not lock.acquire():
        h = lock.holder or {}
        log.info(f"[{p.rid}] held by {h.get('host')}:{h.get('pid')}, skipped")
        return None
    if state.run_state(p.run_dir) == "done":  # finished while we were starting
        lock.release()
        log.info(f"[{p.rid}] done already, skipped")
        return io.read_json(p.run_dir / layout.RESULT)
    try:
        remove_stale_temporaries(p.run_dir)
        rlog = run_logger(p.rid, p.run_dir)
        resumed_from = _resume(p.trainer, p.rid, p.run_dir, rlog)
        if resumed_from is None:
            (p.run_dir / layout.METRICS).unlink(missing_ok=True)
        with open(p.run_dir / layout.CONFIG, "w") as fh:
            yaml.safe_dump({"run_id": p.rid, **p.run.to_dict()}, fh, sort_keys=False)
        faults.point("runner.claim.config_written")
        log_config(rlog, p.rid, p.run.to_dict(), console=p.run.runtime.job_index is None)
        mirror = make_mirror(p.run, p.rid, p.run_dir)
    except BaseException:
        lock.release()
        raise
    hooks = RecordHooks(p.run, p.rid, p.run_dir, mirror, lock)
    return _Claimed(
        p.run, p.rid, p.run_dir, p.trainer, lock, created, hooks, mirror, resumed_from, rlog
    )


def _first_missing(path: Path) -> Path | None:
    """The outermost ancestor of ``path`` (or ``path`` itself) that does not exist yet."""
    missing = None
    for d in [path, *path.parents]:
        if d.exists():
            break
        missing = d
    return missing


def _roll_back(c: _Claimed) -> None:
    """Undo a claim refused for bad input (a UserError raised while training starts, e.g. a
    missing local path or an offline hub id): a run that had no record before leaves nothing
    behind, so ``scaling status`` does not list it as pending (the README's "nothing is
    written"). A run that existed before (a resume) keeps its files."""
    if c.created is None or c.resumed_from is not None:
        return
    import shutil

    shutil.rmtree(c.run_dir, ignore_errors=True)
    for d in c.run_dir.parents:  # directories made for it, while empty (another run may share)
        if not d.is_relative_to(c.created):
            break
        try:
            d.rmdir()
        except OSError:
            break


def _resume(trainer: Any, rid: str, run_dir: Path, rlog: Any) -> int | None:
    """Load the checkpoint if there is one; the step resumed from, else None."""
    from scaling.train.checkpoint import load_checkpoint

    ckpt = run_dir / layout.CHECKPOINT
    if not ckpt.exists():
        return None
    try:
        trainer.load_state_dict(load_checkpoint(ckpt))
    except Exception as exc:  # noqa: BLE001 - an unreadable checkpoint means a fresh start
        rlog.warning(f"[{rid}] checkpoint unreadable ({exc}); starting over")
        ckpt.unlink(missing_ok=True)
        return None
    truncate_metrics(run_dir / layout.METRICS, trainer.step)
    rlog.info(f"[{rid}] resuming from step {trainer.step}")
    return trainer.step


def _publish(c: _Claimed, outcome: Any) -> Record | None:
    """Write the run's outcome (a ``RunResult`` or the exception that ended it) and release it."""
    from scaling.train.trainer import Diverged

    exit_code = 1
    try:
        if isinstance(outcome, UserError):
            _release(c)
            _roll_back(c)
            raise outcome
        if isinstance(outcome, Diverged):  # NaN, inf or exploding loss: its step in status
            step = getattr(c.trainer, "step", None)
            c.hooks.status("failed", reason=f"diverged: {outcome}", step=step, steps=c.hooks.steps)
            c.log.error(f"[{c.rid}] failed: diverged: {outcome}")
            return None
        if isinstance(outcome, BaseException):
            text = "".join(traceback.format_exception(outcome))
            (c.run_dir / "error.log").write_text(text)
            c.hooks.status("failed", reason=f"{type(outcome).__name__}: {outcome}")
            c.log.error(
                f"[{c.rid}] failed: {type(outcome).__name__}: {outcome} (see {c.run_dir}/error.log)"
            )
            return None
        record = build_record(c.run, c.rid, outcome)
        record["resumed_from_step"] = c.resumed_from
        record["checkpoints"] = c.hooks.checkpoints
        record["checkpoint_seconds"] = c.hooks.checkpoint_seconds
        record["wandb"] = c.mirror.info or None  # id, project, local path (the record rules)
        from scaling.runs.weights import save_final_weights  # imports torch, as training did

        record["weights"] = save_final_weights(c.run_dir, c.trainer)  # before result.json
        faults.point("runner.publish.weights_saved")
        # logged before the result is published, so a done run's train.log always says so (a
        # kill between the two leaves the line and no result: the relaunch resumes and logs again)
        c.log.info(
            f"[{c.rid}] trained: loss {record['loss']:.4f} on '{record['loss_domain']}', "
            f"{record['wall_seconds']:.1f}s"
        )
        io.atomic_write_json(c.run_dir / layout.RESULT, record)
        faults.point("runner.publish.result_written")
        c.hooks.status("done", step=outcome.steps, steps=outcome.steps)
        faults.point("runner.publish.status_done")
        (c.run_dir / layout.CHECKPOINT).unlink(missing_ok=True)  # a kill before: the relaunch
        faults.point("runner.publish.checkpoint_removed")
        c.mirror.summary(record)
        exit_code = 0
        return record
    finally:
        _release(c, exit_code)


def _release(c: _Claimed, exit_code: int = 1) -> None:
    if c.lock is None:
        return
    c.hooks.close()
    c.mirror.finish(exit_code)
    c.lock.release()
    c.lock = None
    close_run_logger(c.log)


def _train_solo(c: _Claimed) -> Record | None:
    from scaling.train.trainer import Diverged

    try:
        outcome: Any = c.trainer.run_to_end(c.hooks)
    except (Diverged, UserError) as exc:
        outcome = exc
    except Exception as exc:  # noqa: BLE001 - a crash fails this run, not the sweep
        outcome = exc
    return _publish(c, outcome)


def _train_packed(claimed: list[_Claimed]) -> list[Record | None]:
    from scaling.train.pack_runner import train_pack

    out: dict[int, Record | None] = {}

    def publish(k: int, outcome: Any) -> None:
        out[k] = _publish(claimed[k], outcome)

    labels = ", ".join(c.rid for c in claimed)
    log.info(f"[pack of {len(claimed)}] training together: {labels}")
    train_pack([c.trainer for c in claimed], [c.hooks for c in claimed], on_result=publish)
    return [out.get(k) for k in range(len(claimed))]


def _groups(claimed: list[_Claimed], max_pack: int) -> list[list[int]]:
    """Indices of ``claimed`` grouped into packs of at most ``max_pack`` runs that may share one
    (``train.pack_runner.pack_key``); a run that may not pack (bf16, compiled) is a group of one."""
    from scaling.train.pack_runner import pack_key, packable

    by_key: dict[Any, list[int]] = {}
    singles = []
    for i, c in enumerate(claimed):
        if max_pack > 1 and packable(c.trainer):
            by_key.setdefault(pack_key(c.trainer), []).append(i)
        else:
            singles.append([i])
    packs = [g[j : j + max_pack] for g in by_key.values() for j in range(0, len(g), max_pack)]
    return packs + singles


def execute_pack(runs: Sequence[RunConfig]) -> list[Record | None]:
    """Train ``runs`` (each into ``<runtime.out_dir>/<run_id>``), packed where they can share a
    pack (at most ``runtime.pack`` runs each), and return each run's record in order (None for
    a run that failed, was skipped or is held elsewhere). Config errors of any run (UserError)
    are raised before any run is locked or written."""
    out: list[Record | None] = [None] * len(runs)
    planned: list[tuple[int, _Planned]] = []
    for i, run in enumerate(runs):
        p = _plan(run)
        if isinstance(p, _Planned):
            planned.append((i, p))
        else:
            out[i] = p
    claimed: list[tuple[int, _Claimed]] = []
    try:
        for i, p in planned:
            c = _claim(p)
            if isinstance(c, _Claimed):
                claimed.append((i, c))
            else:
                out[i] = c
        members = [c for _, c in claimed]
        max_pack = min((c.run.runtime.pack for c in members), default=1)
        for group in _groups(members, max_pack):
            if len(group) == 1:
                records = [_train_solo(members[group[0]])]
            else:
                records = _train_packed([members[j] for j in group])
            for j, rec in zip(group, records, strict=True):
                out[claimed[j][0]] = rec
    finally:
        for _, c in claimed:  # a run the pack never published (an interrupt) is released
            _release(c)
    return out


def execute(run: RunConfig) -> Record | None:
    """Train ``run`` into ``<runtime.out_dir>/<run_id>`` unless it is done or held elsewhere.

    Resumes from ``checkpoint.pt`` when an earlier attempt was interrupted. Returns the result
    record, or None when the run failed (status.json says why), another process holds it, or
    the grid window skips it (nothing is written).
    Config errors (UserError) propagate before anything is written: the CLI prints one line.
    """
    return execute_pack([run])[0]
