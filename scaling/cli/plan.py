"""``scaling plan``: every run of a sweep with FLOPs, tokens, epochs and estimated wall time,
from a quick throughput calibration on this machine, without training anything."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from scaling.cli import grid, tables
from scaling.core.config import RunConfig
from scaling.runs import identity, state

STARTUP_SECONDS = 3.0  # process start, imports, data assembly (measured: 2-5 s per run)


def _pool_tokens(run: RunConfig) -> int | None:
    """Distinct training tokens available to the run, when the sources are finite and known."""
    from scaling.data.sources import available_tokens

    total = 0
    for src in run.data.mixture.values():
        n = available_tokens(src, run.runtime.cache_dir)
        if n is None:
            return run.data.unique_tokens
        total += n
    if run.data.unique_tokens is not None:
        total = min(total, run.data.unique_tokens)
    return total


def plan_rows(runs: list[RunConfig], calibrate: bool = True) -> list[dict[str, Any]]:
    from scaling.train.calibrate import tokens_per_second
    from scaling.train.plan import make_plan

    rows = []
    for run in runs:
        plan = make_plan(run)
        pool = _pool_tokens(run)
        seconds = None
        if calibrate and not plan.skip_reason:
            tps = tokens_per_second(plan.shape, run.optim.batch_size, run.runtime.threads)
            ev = run.eval
            eval_tokens = len(ev.domains) * (
                ev.points * ev.tokens_per_domain + ev.final_tokens_per_domain
            )
            seconds = STARTUP_SECONDS + plan.budget.tokens / tps + eval_tokens / (3 * tps)
        rid = identity.run_id(run.to_dict())
        rows.append(
            {
                "run_id": rid,
                "data": run.data.name,
                "model": run.model.name,
                "params": plan.params,
                "flops": plan.budget.flops,
                "steps": plan.budget.steps,
                "tokens": plan.budget.tokens,
                "epochs": (plan.budget.tokens / pool) if pool else None,
                "est_seconds": seconds,
                "state": "skipped"
                if plan.skip_reason
                else state.run_state(Path(run.runtime.out_dir) / rid),
                "reason": plan.skip_reason,
            }
        )
    return rows


def print_plan(overrides: list[str], calibrate: bool = True) -> int:
    runs, launcher = grid.expand(overrides)
    n_workers = grid.workers(launcher)
    print(
        f"calibrating throughput of {len({r.model.name for r in runs})} model shapes...",
        file=sys.stderr,
    )
    rows = plan_rows(runs, calibrate=calibrate)
    shown = [{**r, "est_time": tables.format_seconds(r["est_seconds"])} for r in rows]
    cols = [
        "run_id",
        "data",
        "model",
        "params",
        "flops",
        "steps",
        "tokens",
        "epochs",
        "est_time",
        "state",
    ]
    if any(r["reason"] for r in rows):
        cols.append("reason")
    print(tables.format_table(shown, cols))
    trained = [r for r in rows if r["state"] != "skipped"]
    secs = [r["est_seconds"] or 0.0 for r in trained if r["state"] != "done"]
    total = sum(secs)
    wall = max(total / n_workers, max(secs, default=0.0))
    skipped = len(rows) - len(trained)
    print(
        f"\n{len(trained)} runs ({len(trained) - len(secs)} done"
        + (f"; {skipped} more skipped by the grid window" if skipped else "")
        + f"), {sum(r['flops'] for r in trained):.3g} FLOPs, "
        f"{sum(r['tokens'] for r in trained):.3g} tokens; "
        f"to run: {tables.format_seconds(total)} of compute, about "
        f"{tables.format_seconds(wall)} wall on {n_workers} worker(s) "
        f"(launcher {str(launcher.get('_target_', '')).split('.')[-1]})"
    )
    if calibrate and secs and wall > 0:
        print(_efficiency_line(runs, trained, wall, n_workers))
    out_dirs = sorted({run.runtime.out_dir for run in runs})
    print(f"results go to {', '.join(out_dirs)}")
    return 0


def _efficiency_line(
    runs: list[RunConfig], trained: list[dict[str, Any]], wall: float, n_workers: int
) -> str:
    """The predicted share of the machine's measured fp32 matmul peak that the pending runs use:
    their FLOPs (under each run's convention) over the predicted wall time x the peak of the
    threads in use (workers x runtime.threads, at most the CPU count)."""
    import os

    from scaling.train.calibrate import matmul_peak_flops

    threads = max(1, runs[0].runtime.threads)
    in_use = min(os.cpu_count() or 1, n_workers * threads)
    peak = matmul_peak_flops(1) * in_use  # per-thread peak x threads (measured 1 thread)
    pending = sum(r["flops"] for r in trained if r["state"] != "done")
    return (
        f"predicted efficiency: {pending / wall / peak:.1%} of the measured fp32 matmul peak "
        f"({peak / 1e9:.0f} GFLOP/s on {in_use} thread(s))"
    )
