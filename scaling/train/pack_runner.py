"""Train several runs of one shape as a pack and return each run's ``RunResult``, as if alone.

``train_pack(runs)`` builds one ``Trainer`` per run (its tokenizer, plan, data streams, eval
points, and the solo run's record keeping) and steps them together with ``train.packed.PackedLoop``.
At each run's own evaluation steps its current weights are copied into its trainer's model and
evaluated there; at its last step the final evaluation and the task accuracy run on its final
weights. A run is the same run packed or alone: same initial weights (its seed), same batches
(``data.batch(step)`` of its own stream), same schedule, same per-step losses (``PackedLoop``'s
guarantee), hence the same curve, evaluations and result; ``tests/unit/train/test_pack_runner.py``
checks it against ``Trainer.run_to_end``. Only the timings differ: a pack step's time is shared
evenly by the runs it stepped.

What packs: runs whose ``Trainer.shape`` (hence model shape and vocabulary), batch size, betas,
eps, weight decay, gradient clip and device agree (``pack_key``). Not yet here (issue 11): the
runner and launcher grouping a sweep's pending runs into packs, checkpoints and resume inside a
pack, and the per-run hooks (metrics.jsonl, status.json) while a pack trains.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import torch

from scaling.core.config import RunConfig
from scaling.train.packed import PackedLoop, PackedRun
from scaling.train.trainer import Diverged, RunResult, Trainer


def pack_key(trainer: Trainer) -> tuple[Any, ...]:
    """What runs must share to train as one pack."""
    o = trainer.run.optim
    return (
        trainer.shape,
        o.batch_size,
        o.beta1,
        o.beta2,
        o.eps,
        o.weight_decay,
        o.grad_clip,
        trainer.device,
    )


def _log_record(t: Trainer, step: int, out: dict[str, float], seconds: float) -> dict[str, Any]:
    """The curve record the solo loop writes after ``step`` (``Trainer.run_to_end``)."""
    tokens = step * t.plan.tokens_per_step
    rec = {
        "step": step,
        "tokens": tokens,
        "loss": out["loss"],
        "lr": out["lr"],
        "grad_norm": out["grad_norm"],
        "tokens_per_second": tokens / max(seconds, 1e-9),
    }
    rec["flops"] = rec["tokens"] * t.plan.flops_per_token
    return rec


def _finish(t: Trainer, weights: dict[str, torch.Tensor], wall: float) -> RunResult:
    """Final evaluation and tasks on the run's final weights, then its result (as the solo loop)."""
    t.model.load_state_dict(weights)
    final, task = t.final_evaluation()
    return t._result(final, task, wall)


def _step_all(loop: PackedLoop, trainers: list[Trainer]) -> dict[int, dict[str, float]]:
    """One pack step: every pending run on its own batch; the step's time shared by them."""
    t0 = time.perf_counter()
    batches = {}
    for k in loop.pending:
        t = trainers[k]
        x, y, m = t.train_stream().batch(loop.step, t.run.optim.batch_size, t.run.model.context)
        batches[k] = (x, y, m)
        t.tokens_supervised += int(m.sum()) if m is not None else x.size
    stepped = list(loop.pending)
    out = loop.train_step(batches)
    share = (time.perf_counter() - t0) / len(stepped)
    for k in stepped:
        trainers[k].train_seconds += share
    return out


def _packed_run(run: RunConfig, t: Trainer) -> PackedRun:
    o = run.optim
    return PackedRun(run.seed, t.plan.steps, t.peak_lr, o.warmup_fraction, o.final_lr_fraction)


def train_pack(runs: Sequence[RunConfig]) -> list[RunResult | Diverged]:
    """Each run's result, in order, or its ``Diverged`` error; see the module docstring."""
    wall0 = time.perf_counter()
    trainers = [Trainer(r) for r in runs]
    if len({pack_key(t) for t in trainers}) > 1:
        raise ValueError("runs of a pack must share shape, batch, optimizer settings and device")
    for t in trainers:
        t.train_stream()
        t.eval_streams()
        t.model.train()
    o = runs[0].optim
    loop = PackedLoop(
        trainers[0].shape,
        [
            PackedRun(
                r.seed, t.plan.steps, t.peak_lr, r.optim.warmup_fraction, r.optim.final_lr_fraction
            )
            for r, t in zip(runs, trainers, strict=True)
        ],
        o,
        device=trainers[0].device,
    )
    results: dict[int, RunResult | Diverged] = {}
    eval_at = [t.eval_steps() for t in trainers]
    while not loop.done:
        step = loop.step + 1
        out = _step_all(loop, trainers)
        for k, rec in out.items():
            t = trainers[k]
            if k in loop.failed:
                results[k] = Diverged(loop.failed[k])
                continue
            t.step = step
            if step % max(1, t.plan.steps // 200) == 0 or step == t.plan.steps:
                t.curve.append(_log_record(t, step, rec, t.train_seconds))
            if step in eval_at[k] and k in loop.pending:
                t.model.load_state_dict(loop.model_of(k).state_dict())
                t.evals.append(t.evaluate())
            if k in loop.finished:
                results[k] = _finish(t, loop.finished[k], time.perf_counter() - wall0)
    return [results[k] for k in range(len(runs))]
