"""Named kill points for fault injection (issue 14): ``faults.point("checkpoint.tmp_written")``.

The code that writes a sweep's record calls ``point(name)`` where a crash would matter: inside
atomic writes, checkpoints, the publication of a result, token-cache builds, the training
loops and the end-of-sweep analysis (``POINTS`` lists every one). Nothing happens unless the
environment variable ``SCALING_FAULT`` names the point:

    SCALING_FAULT=checkpoint.tmp_written@2 scaling-train ...   # killed at the 2nd checkpoint

Its format is a comma-separated list of ``name[@n][:SIGNAL]``: when ``name`` is reached for the
``n``-th time in this process (default 1) the process sends itself ``SIGNAL`` (default
``KILL``: SIGKILL, a crash with no clean-up; ``TERM`` is what SLURM sends before preemption).
The variable is read once, at the first call; unset, ``point`` is one global lookup and a
falsy test. ``scripts/fault_harness.py`` kills a sweep at each point, relaunches it and checks
that nothing was lost, counted twice or read half-written. No torch, no Hydra.
"""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass

from scaling.core.errors import UserError

ENV = "SCALING_FAULT"

# Every point, where it is and what a kill there leaves (``tests/unit/core/test_faults.py``
# checks that each is called in the package and that every call is listed here).
POINTS: dict[str, str] = {
    # core.io: the one atomic write and the JSONL append
    "io.atomic_write.tmp_written": "an atomic write's temporary is written and fsynced",
    "io.atomic_write.renamed": "an atomic write's temporary was renamed over its target",
    "io.append_jsonl.half_line": "half of a JSONL line (metrics.jsonl) is on disk",
    # train.checkpoint and runs.hooks: checkpoints, status, metrics
    "hooks.checkpoint.before_save": "a checkpoint is due; nothing of it is written yet",
    "checkpoint.tmp_written": "a checkpoint's temporary holds the state, before fsync and rename",
    "checkpoint.renamed": "a checkpoint was renamed into place, status not yet updated",
    "hooks.status.written": "status.json was replaced",
    "hooks.metrics.train_appended": "a training record was appended to metrics.jsonl",
    "hooks.metrics.eval_appended": "an evaluation record was appended, its checkpoint not taken",
    # train.trainer: the solo training loop and evaluation
    "train.step.backward_done": "a step's gradients exist, the optimizer has not stepped",
    "train.step.end": "a step is done (its record logged), before evaluation and checkpoint",
    "train.evaluate": "a held-out evaluation (periodic or final) starts",
    "train.tasks": "the task accuracy evaluation starts",
    # train.pack_runner: runs trained as a pack
    "pack.step.end": "a pack step is done, before its runs' records, evaluations and checkpoints",
    "pack.finishing_checkpointed": "the runs finishing at this step are checkpointed at their end",
    "pack.member.finished": "a run of the pack has its result, not yet published",
    "pack.member.published": "a run of the pack was published while the others continue",
    # runs.runner (_claim, _publish) and runs.weights
    "runner.claim.config_written": "a claimed run wrote config.yaml, training not started",
    "weights.safetensors_written": "model.safetensors is written, model.json not yet",
    "runner.publish.weights_saved": "the final weights are written, result.json not yet",
    "runner.publish.result_written": "result.json is published, status still says running",
    "runner.publish.status_done": "status.json says done, the checkpoint still exists",
    "runner.publish.checkpoint_removed": "a published run's checkpoint was removed",
    # cli.pack: the packing launcher
    "launcher.pack.start": "a launcher task (one pack of runs) starts",
    # data.token_cache: shard builds
    "token_cache.shard_written": "a new shard generation is in its temporary directory",
    "token_cache.shard_renamed": "a shard generation was renamed into place, no pointer to it",
    "token_cache.pointer_written": "the 'current' pointer names the new generation",
    # cli.callbacks: the end-of-sweep analysis
    "sweep.tables_exported": "runs.parquet, runs.csv and curves.parquet are written",
    "sweep.fits_written": "fits.json, figures and the verdict are written, report.md not yet",
    "sweep.report_written": "report.md is written",
}


@dataclass
class Fault:
    """Send ``signal`` to this process the ``hit``-th time ``point(name)`` is reached."""

    name: str
    hit: int = 1
    signal: int = signal.SIGKILL


def parse(spec: str) -> dict[str, Fault]:
    """``"a@2,b:TERM"`` -> {name: Fault}; an unknown point or a bad count is a ``UserError``."""
    faults = {}
    for item in (s.strip() for s in spec.split(",")):
        if not item:
            continue
        rest, _, sig = item.partition(":")
        name, _, count = rest.partition("@")
        if name not in POINTS:
            raise UserError(f"{ENV}: unknown point {name!r}; the points: {', '.join(POINTS)}")
        if count and not (count.isdigit() and int(count) >= 1):
            raise UserError(f"{ENV}: {item!r}: the count after @ must be a whole number >= 1")
        faults[name] = Fault(name, int(count or 1), _signal(sig or "KILL", item))
    return faults


def _signal(name: str, item: str) -> int:
    try:
        return int(getattr(signal, "SIG" + name.upper().removeprefix("SIG")))
    except AttributeError:
        raise UserError(f"{ENV}: {item!r}: no signal {name!r} (use KILL or TERM)") from None


_armed: dict[str, Fault] | None = None  # None: SCALING_FAULT not read yet
_hits: dict[str, int] = {}


def point(name: str) -> None:
    """A kill point: no-op unless ``SCALING_FAULT`` names it (see the module docstring)."""
    armed = _armed if _armed is not None else _arm()
    if armed and name in armed:
        _hit(armed[name])


def _arm() -> dict[str, Fault]:
    global _armed
    _armed = parse(os.environ.get(ENV, ""))
    return _armed


def _hit(fault: Fault) -> None:
    _hits[fault.name] = _hits.get(fault.name, 0) + 1
    if _hits[fault.name] == fault.hit:
        os.kill(os.getpid(), fault.signal)


def reset() -> None:
    """Forget the parsed variable and the hit counts (tests change ``SCALING_FAULT``)."""
    global _armed
    _armed = None
    _hits.clear()
