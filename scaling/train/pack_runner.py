"""Train several runs of one shape as a pack, each run observed and resumable as if alone.

``train_pack(trainers, hooks, on_result)`` steps the runs' ``Trainer``s together with
``train.packed.PackedLoop``. Each run keeps what makes it a run of its own: its plan, data
streams, evaluation steps, curve and record keeping, and its ``Hooks`` (the runner's
metrics.jsonl, status.json and checkpoints) called as the solo loop calls them. At a run's own
evaluation steps its current weights are copied into its trainer's model and evaluated there;
at its last step the final evaluation and the task accuracy run on its final weights and
``on_result`` receives its ``RunResult`` at once (so a finished run is published while the rest
of its pack trains). A checkpoint taken inside a pack is the solo trainer's format
(``Trainer.state_dict``), so a run resumes packed or alone from it, and a pack can hold runs
resumed at different steps.

A run is the same run packed or alone: same initial weights (its trainer's model, built from
its seed), same batches (``data.batch(step)`` of its own stream), same schedule, same per-step
losses (``PackedLoop``'s guarantee), hence the same curve, evaluations and result;
``tests/unit/train/test_pack_runner.py`` checks it against ``Trainer.run_to_end``, for fresh
and resumed runs. Only the timings differ: a pack step's time is shared evenly by the runs it
stepped.

Runs that finish at a step are checkpointed at their last step before any of them is
published: a run killed after a pack-mate's publication then only evaluates when relaunched,
instead of retraining its tail on another engine (alone, it would train solo: the same to
about 1e-7, not bit for bit). On SIGTERM every run still training is checkpointed at the step
boundary and ``Preempted`` raised (``train.trainer``'s preemption).

What packs (``plan.pack_key`` on the config, before torch is imported, as the launcher
groups runs): runs whose model shape, vocabulary, batch size, optimizer constants, device and
precision agree, trained in fp32 and not compiled (``packable``).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from scaling.core import faults
from scaling.train.device import autocast_context
from scaling.train.packed import PackedLoop, PackedRun
from scaling.train.plan import pack_key as plan_pack_key
from scaling.train.trainer import PREEMPTION, Diverged, Hooks, RunResult, Trainer, preempted

Outcome = RunResult | BaseException


def pack_key(trainer: Trainer) -> tuple[Any, ...]:
    """What runs must share to train as one pack: the config-level key on the trainer's shape
    (its tokenizer's vocabulary), and the device it resolved to."""
    return (*plan_pack_key(trainer.run, trainer.shape), trainer.device)


def packable(trainer: Trainer) -> bool:
    """fp32 and eager: the packed engine's equality guarantee holds (``train.packed``)."""
    fp32 = isinstance(
        autocast_context(trainer.run.runtime.precision, trainer.device), contextlib.nullcontext
    )
    return fp32 and not trainer.run.runtime.compile


class _Member:
    """Run k of a pack as its hooks see it: the step, and a solo-format state on demand."""

    def __init__(self, trainer: Trainer, loop: PackedLoop, k: int) -> None:
        self.trainer, self.loop, self.k = trainer, loop, k

    @property
    def step(self) -> int:
        return self.trainer.step

    def state_dict(self) -> dict[str, Any]:
        sd = self.trainer.state_dict()
        sd["model"] = self.loop.weights_of(self.k)
        sd["optimizer"] = self.loop.optimizer_state_of(self.k)
        return sd


class _Finished(_Member):
    """Run k after its last step: its final weights, for a checkpoint at its end. Its AdamW
    moments left the pack with it and are not kept (a run resumed at its end takes no step)."""

    def state_dict(self) -> dict[str, Any]:
        sd = self.trainer.state_dict()
        sd["model"] = self.loop.finished[self.k]
        sd["optimizer"] = {"state": {}, "param_groups": sd["optimizer"]["param_groups"]}
        return sd


def _log_record(t: Trainer, step: int, out: dict[str, float]) -> dict[str, Any]:
    """The curve record the solo loop writes after ``step`` (``Trainer.run_to_end``)."""
    tokens = step * t.plan.tokens_per_step
    return {
        "step": step,
        "tokens": tokens,
        "loss": out["loss"],
        "lr": out["lr"],
        "grad_norm": out["grad_norm"],
        "tokens_per_second": tokens / max(t.train_seconds, 1e-9),
        "flops": tokens * t.plan.flops_per_token,
    }


def _step_all(loop: PackedLoop, trainers: list[Trainer]) -> dict[int, dict[str, float]]:
    """One pack step: every pending run on its own batch; the step's time shared by them."""
    t0 = time.perf_counter()
    batches = {}
    for k in loop.pending:
        t = trainers[k]
        o = t.run.optim
        x, y, m = t.train_stream().batch(loop.run_step[k], o.batch_size, t.run.model.context)
        batches[k] = (x, y, m)
        t.tokens_supervised += int(m.sum()) if m is not None else x.size
    stepped = list(loop.pending)
    out = loop.train_step(batches)
    share = (time.perf_counter() - t0) / len(stepped)
    for k in stepped:
        trainers[k].train_seconds += share
    return out


def _make_loop(trainers: list[Trainer]) -> PackedLoop:
    runs = [
        PackedRun(
            t.run.seed,
            t.plan.steps,
            t.peak_lr,
            t.run.optim.warmup_fraction,
            t.run.optim.final_lr_fraction,
            start=t.step,
        )
        for t in trainers
    ]
    states = [t.optimizer.state_dict() if t.step else None for t in trainers]
    return PackedLoop(
        trainers[0].shape,
        runs,
        trainers[0].run.optim,
        device=trainers[0].device,
        models=[t.model for t in trainers],
        optimizer_states=states,
    )


def _after_step(
    k: int, rec: dict[str, float], t: Trainer, h: Hooks, loop: PackedLoop, eval_at: set[int]
) -> bool:
    """Record, evaluate and checkpoint run k after its step as the solo loop does; True when
    the run has left the pack (finished or diverged)."""
    if k in loop.failed:
        return True
    t.step = loop.run_step[k]
    if t.step % max(1, t.plan.steps // 200) == 0 or t.step == t.plan.steps:
        r = _log_record(t, t.step, rec)
        t.curve.append(r)
        h.on_step(r)
    if k not in loop.pending:
        return True
    if t.step in eval_at:
        t.model.load_state_dict(loop.weights_of(k))
        r = t.evaluate()
        t.evals.append(r)
        h.on_eval(r, _Member(t, loop, k))
    h.maybe_checkpoint(_Member(t, loop, k))
    return False


def _finish(t: Trainer, h: Hooks, loop: PackedLoop, k: int, wall: float) -> RunResult:
    """Final evaluation and tasks on the run's final weights, then its result (as the solo loop)."""
    t.model.load_state_dict(loop.finished.pop(k))
    final, task = t.final_evaluation()
    h.on_eval(final, t)
    result = t._result(final, task, wall)
    faults.point("pack.member.finished")
    return result


def _checkpoint_finishing(
    leaving: list[int], trainers: list[Trainer], hooks: list[Hooks], loop: PackedLoop
) -> None:
    """Checkpoint the runs that finished at this step at their end, before any is published."""
    finished = [k for k in leaving if k in loop.finished]
    if len(trainers) > 1 and finished:
        for k in finished:
            hooks[k].checkpoint(_Finished(trainers[k], loop, k))
        faults.point("pack.finishing_checkpointed")


def _preempt(
    trainers: list[Trainer], hooks: list[Hooks], loop: PackedLoop, starts: list[int]
) -> NoReturn:
    """SIGTERM: checkpoint every run still training that stepped since it started here."""
    stepped = [k for k in loop.pending if loop.run_step[k] > starts[k]]
    for k in stepped:
        hooks[k].checkpoint(_Member(trainers[k], loop, k))
    steps = ", ".join(f"{trainers[k].step}/{trainers[k].plan.steps}" for k in loop.pending)
    preempted(f"{len(loop.pending)} runs of a pack at steps {steps}", len(stepped))


def _train_loop(
    trainers: list[Trainer],
    hooks: list[Hooks],
    done: Callable[[int, Outcome], None],
    wall0: float,
) -> None:
    """Step the pack to its end, publishing each run (``done``) as it leaves."""
    loop = _make_loop(trainers)
    for k in list(loop.finished):  # resumed at the last step: only the final evaluation
        done(k, _finish(trainers[k], hooks[k], loop, k, time.perf_counter() - wall0))
    eval_at = [t.eval_steps() for t in trainers]
    starts = list(loop.run_step)
    while not loop.done:
        if PREEMPTION.requested:
            _preempt(trainers, hooks, loop, starts)
        out = _step_all(loop, trainers)
        faults.point("pack.step.end")
        leaving = [
            k
            for k, rec in out.items()
            if _after_step(k, rec, trainers[k], hooks[k], loop, eval_at[k])
        ]
        _checkpoint_finishing(leaving, trainers, hooks, loop)
        for k in leaving:
            if k in loop.failed:
                done(k, Diverged(loop.failed[k]))
            else:
                done(k, _finish(trainers[k], hooks[k], loop, k, time.perf_counter() - wall0))


def train_pack(
    trainers: Sequence[Trainer],
    hooks: Sequence[Hooks] | None = None,
    on_result: Callable[[int, Outcome], None] | None = None,
) -> list[Outcome]:
    """Each run's ``RunResult``, in order, or the exception that ended it (``Diverged``, or the
    error that stopped the pack: every run still training then gets it); see the module
    docstring. ``on_result(k, outcome)`` is called as soon as run k's outcome is known."""
    trainers = list(trainers)
    hooks = list(hooks) if hooks is not None else [Hooks() for _ in trainers]
    if len({pack_key(t) for t in trainers}) > 1:
        raise ValueError("runs of a pack must share shape, batch, optimizer settings and device")
    results: dict[int, Outcome] = {}

    def done(k: int, outcome: Outcome) -> None:
        results[k] = outcome
        if on_result is not None:
            on_result(k, outcome)
            faults.point("pack.member.published")

    wall0 = time.perf_counter()
    try:
        for t, h in zip(trainers, hooks, strict=True):
            t.train_stream()
            t.eval_streams()
            t.model.train()
            h.on_start({"steps": t.plan.steps, "tokens": t.plan.tokens, "resumed_at": t.step})
        with PREEMPTION.deferred():
            _train_loop(trainers, hooks, done, wall0)
    except Exception as exc:  # noqa: BLE001 - the pack stops; its unfinished runs fail with it
        for k in range(len(trainers)):
            if k not in results:
                done(k, exc)
    return [results[k] for k in range(len(trainers))]
