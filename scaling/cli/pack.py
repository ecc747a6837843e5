"""The packing launcher's logic: a sweep's runs grouped into packs, packs run on reused workers.

``hydra/launcher=parallel`` (and ``local``) is ``hydra_plugins.scaling_pack_launcher``, whose
``launch`` calls ``launch_packs`` here. Every job's config is composed and validated in the
launching process (a user error names the job and skips it, as Hydra's own launchers do
through ``scaling.cli.train``), the runs still to train are grouped by ``train.plan.pack_key``
into packs of at most ``runtime.pack`` runs of similar length, and the packs are handed,
costliest first (longest-processing-time order), to ``n_jobs`` worker processes that live for
the whole sweep (joblib's reusable loky pool: torch is imported and the token cache opened once
per worker, not once per run). Each pack is ``runs.runner.execute_pack``: per-run locks,
resume, records and status, exactly as one job per run. ``runtime.pack=1`` gives one run per
task on the same pool.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scaling.core import faults
from scaling.core.config import RunConfig
from scaling.core.errors import UserError

# Queue order only (never reported): a pack's cost is estimated as its longest run's steps times
# a fixed per-step overhead plus its FLOPs at a nominal rate. On this project's CPU ladder a
# step costs ~4-10 ms of overhead at d_model 8-24 and training runs at ~8-40 GFLOP/s per core
# (issue 11's measurements, scripts/bench_train.py), so both terms matter.
STEP_OVERHEAD_SECONDS = 5e-3
NOMINAL_FLOPS_PER_SECOND = 1e10


@dataclass
class Job:
    """One sweep job: its index, Hydra overrides and validated run config."""

    index: int
    overrides: list[str]
    run: RunConfig


def check(run: RunConfig) -> None:
    """The user errors a run's plan finds without torch (a budget below one step)."""
    from scaling.train.plan import make_plan

    make_plan(run)


def _steps_and_flops(run: RunConfig) -> tuple[int, float] | None:
    """The run's planned steps and FLOPs; None when it is not to train (done, skipped)."""
    from scaling.runs import identity, state
    from scaling.train.plan import make_plan

    plan = make_plan(run)
    if plan.skip_reason:
        return None
    if state.run_state(Path(run.runtime.out_dir) / identity.run_id(run.to_dict())) == "done":
        return None
    return plan.budget.steps, plan.budget.flops


def pack_cost(steps_flops: Sequence[tuple[int, float]]) -> float:
    """Estimated seconds of a pack (queue order only; see the constants above)."""
    longest = max(s for s, _ in steps_flops)
    return longest * STEP_OVERHEAD_SECONDS + sum(f for _, f in steps_flops) / (
        NOMINAL_FLOPS_PER_SECOND
    )


def form_packs(jobs: Sequence[Job], workers: int) -> list[list[Job]]:
    """Jobs grouped into packs: same ``pack_key`` and the same number of steps (seeds, data
    types, learning rates of one grid point), at most ``runtime.pack`` runs each; packs split
    in halves while the workers would otherwise idle (``_balance``); returned costliest first.
    Done and window-skipped runs each form a pack of one (the runner skips them at once)."""
    from scaling.train.plan import make_plan, pack_key

    groups: dict[Any, list[tuple[Job, tuple[int, float]]]] = {}
    trivial: list[list[Job]] = []
    for job in jobs:
        sf = _steps_and_flops(job.run)
        if sf is None:
            trivial.append([job])
            continue
        # runs of one length: a pack then never shrinks to a tail of one or two long runs (in
        # one worker, where alone they would train side by side on two)
        key = (pack_key(job.run, make_plan(job.run).shape), sf[0])
        groups.setdefault(key, []).append((job, sf))
    packs: list[list[tuple[Job, tuple[int, float]]]] = []
    for members in groups.values():
        size = max(1, min(m[0].run.runtime.pack for m in members))
        packs += [members[i : i + size] for i in range(0, len(members), size)]
    packs = _balance(packs, workers)
    packs.sort(key=lambda p: -pack_cost([m[1] for m in p]))
    return [[job for job, _ in p] for p in packs] + trivial


def _balance(packs: list[list[Any]], workers: int) -> list[list[Any]]:
    """Split the costliest pack in halves while the workers would otherwise idle: while there
    are fewer packs than workers, or one pack costs more than an even share of the sweep (its
    worker would still train it after the others ran out of work)."""
    packs = list(packs)

    def cost(p: list[Any]) -> float:
        return pack_cost([m[1] for m in p])

    while True:
        splittable = [p for p in packs if len(p) > 1]
        if not splittable:
            return packs
        big = max(splittable, key=cost)
        share = sum(cost(p) for p in packs) / workers
        if len(packs) >= workers and cost(big) <= share:
            return packs
        packs.remove(big)
        packs += [big[0::2], big[1::2]]  # alternate, so both halves hold long runs


def run_pack(runs: list[RunConfig]) -> list[dict[str, Any] | None]:
    """A worker's task: train ``runs`` as packs (``runs.runner.execute_pack``). A user error
    found only here (a tokenizer or task file that cannot be read) names its run and the
    others of the pack still train."""
    from scaling.core.log import configure_console
    from scaling.runs.runner import execute, execute_pack

    configure_console()  # a worker process starts with no logging configured
    faults.point("launcher.pack.start")
    try:
        return execute_pack(runs)
    except UserError:
        out = []
        for run in runs:
            try:
                out.append(execute(run))
            except UserError as exc:
                print(f"error: {exc} [{run.model.name} {run.data.name}]", file=sys.stderr)
                out.append(None)
        return out


def workers(n_jobs: int) -> int:
    """joblib's n_jobs: -1 is one worker per core."""
    return max(1, os.cpu_count() or 1) if n_jobs < 0 else max(1, n_jobs)


def run_packs(packs: list[list[Job]], n_jobs: int) -> dict[int, dict[str, Any] | None]:
    """Each job index's record, packs run on ``n_jobs`` reused processes (in this process
    when one)."""
    for i, pack in enumerate(packs):
        for job in pack:
            job.run.runtime.job_index = i  # a pack's runs share a device (one GPU per pack)
    tasks = [[job.run for job in pack] for pack in packs]
    if workers(n_jobs) == 1:
        results = [run_pack(t) for t in tasks]
    else:
        from joblib import Parallel, delayed

        results = Parallel(n_jobs=workers(n_jobs), backend="loky", batch_size=1)(
            delayed(run_pack)(t) for t in tasks
        )
    out: dict[int, dict[str, Any] | None] = {}
    for pack, records in zip(packs, results, strict=True):
        for job, rec in zip(pack, records, strict=True):
            out[job.index] = rec
    return out


def resume_command(argv: Sequence[str]) -> str:
    """The command line that relaunches this sweep (it skips done runs, resumes the rest)."""
    import shlex

    return "scaling-train " + " ".join(shlex.quote(a) for a in argv)


def interrupted_line(jobs: Sequence[Job], argv: Sequence[str]) -> str:
    """One line for a sweep stopped by Ctrl-C: what finished, what was interrupted (and resumes
    from its checkpoint), what never started, and the command that resumes it."""
    from scaling.runs import identity, layout, state

    counts: dict[str, int] = {}
    for job in jobs:
        run_dir = Path(job.run.runtime.out_dir) / identity.run_id(job.run.to_dict())
        now = state.run_state(run_dir)
        key = "interrupted" if now == "running" else now  # a worker still shutting down
        counts[key] = counts.get(key, 0) + 1
        if key == "interrupted" and (run_dir / layout.CHECKPOINT).exists():
            counts["resumable"] = counts.get("resumable", 0) + 1
    parts = [f"{counts.get('done', 0)} of {len(jobs)} runs done"]
    if counts.get("interrupted"):
        n, ck = counts["interrupted"], counts.get("resumable", 0)
        parts.append(f"{n} interrupted ({ck} resume from a checkpoint, {n - ck} start over)")
    if counts.get("pending"):
        parts.append(f"{counts['pending']} not started")
    if counts.get("failed"):
        parts.append(f"{counts['failed']} failed")
    return f"interrupted: {', '.join(parts)}; resume with: {resume_command(argv)}"


def describe(packs: list[list[Job]]) -> str:
    trained = [p for p in packs if len(p) > 1]
    runs = sum(len(p) for p in trained)
    return f"{len(packs)} tasks; {runs} runs in {len(trained)} packs of 2 or more"
