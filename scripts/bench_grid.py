"""A sweep's grid trained three ways in one run: as shipped (packed), packing off, a plain loop.

    python scripts/bench_grid.py --grid quickstart [--budgets 1e11,2.8e11] [--models xs,s,m]
        [--ways shipped,unpacked,plain[,bf16]]

Ways, run one after the other on the same machine, from one warm data cache (filled first, so
no way pays the one-off mining of the installed docs):

- ``shipped``: ``scaling-train experiment=<grid>`` as a user runs it (``hydra/launcher=parallel``:
  packs of same-shape runs on one worker process per core), end-of-sweep analysis off;
- ``unpacked``: the same with ``runtime.pack=1`` (one run per task, the same reused workers);
- ``plain``: every trained grid point as its own process (2 at a time, one thread each) running
  a plain nanoGPT-style loop (``bench_train.PlainGPT``: its own model, AdamW, clipping, cosine
  schedule) for the run's steps, plus forward passes over the same held-out token counts at the
  same evaluation points. It writes no records and scores no task, so it does less work than
  the product: the ratios against it are conservative;
- ``bf16`` (optional): as shipped with ``runtime.precision=bf16`` (bf16 runs do not pack).

Prints JSON: the grid (runs trained, FLOPs under the runs' convention ``6N_attn`` summed from
their records), per way the wall seconds (process start to exit), the achieved FLOP/s and its
fraction of this machine's 2-thread fp32 matmul peak (``train.calibrate.matmul_peak_flops``,
measured at the start), and the speed ratios (wall of one way over another's).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
CONVENTION = "6N_attn"


def _env(cache: Path) -> dict[str, str]:
    return {**os.environ, "WANDB_MODE": "disabled", "SCALING_CACHE_DIR": str(cache)}


def _overrides(args: argparse.Namespace) -> list[str]:
    out = [f"experiment={args.grid}"]
    if args.budgets:
        out.append(f"budget.flops={args.budgets}")
    if args.models:
        out.append(f"model={args.models}")
    return out


def _sweep(overrides: list[str], out: Path, env: dict[str, str]) -> float:
    cmd = [str(BIN / "scaling-train"), *overrides, "~hydra.callbacks.analyze"]
    cmd.append(f"runtime.out_dir={out}")
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    wall = time.perf_counter() - t0
    if proc.returncode != 0 or "error:" in proc.stderr:
        raise SystemExit(f"sweep {overrides} failed:\n{proc.stderr[-3000:]}")
    return wall


def _warm(overrides: list[str], root: Path, env: dict[str, str]) -> None:
    """Build every data type's token cache with one small run each (then thrown away)."""
    data = next((o for o in overrides if o.startswith("data=")), None)
    extra = [] if data is None else [data]
    cmd = [
        str(BIN / "scaling-train"),
        *[o for o in overrides if o.startswith("experiment=")],
        *extra,
        "model=xxxs",
        "budget.flops=1e9",
        "grid.min_tokens_per_param=null",
        "grid.max_tokens_per_param=null",
        "~hydra.callbacks.analyze",
        f"runtime.out_dir={root}",
    ]
    subprocess.run(cmd, capture_output=True, text=True, env=env, check=True)


def _grid_runs(overrides: list[str]) -> list[dict[str, Any]]:
    """The trained grid points' specs for the plain loop (shape, steps, eval schedule)."""
    from scaling.cli.grid import expand
    from scaling.train.plan import make_plan

    runs, _ = expand(overrides)
    specs = []
    for run in runs:
        plan = make_plan(run)
        if plan.skip_reason:
            continue
        ev = run.eval
        specs.append(
            {
                "n_layer": run.model.n_layer,
                "d_model": run.model.d_model,
                "n_head": run.model.n_head,
                "context": run.model.context,
                "vocab": plan.vocab_size,
                "batch": run.optim.batch_size,
                "steps": plan.budget.steps,
                "lr": plan.peak_lr,
                "eval_points": ev.points,
                "eval_tokens": len(ev.domains) * ev.tokens_per_domain,
                "final_eval_tokens": len(ev.domains) * ev.final_tokens_per_domain,
            }
        )
    return specs


def plain_run(spec: dict[str, Any]) -> None:
    """One grid point in the plain loop (this process: ``--plain SPEC``)."""
    import numpy as np
    import torch

    sys.path.insert(0, str(HERE))
    from bench_train import PlainGPT

    torch.set_num_threads(1)
    torch.manual_seed(0)
    T, B, steps = spec["context"], spec["batch"], spec["steps"]
    model = PlainGPT(spec["n_layer"], spec["d_model"], spec["n_head"], spec["vocab"], T)
    opt = torch.optim.AdamW(model.parameters(), lr=spec["lr"], betas=(0.9, 0.95))
    data = torch.from_numpy(np.random.default_rng(0).integers(0, 256, 2_000_000).astype(np.int64))
    gen = torch.Generator().manual_seed(0)

    def batch() -> tuple[torch.Tensor, torch.Tensor]:
        ix = torch.randint(len(data) - T - 1, (B,), generator=gen)
        return (
            torch.stack([data[i : i + T] for i in ix]),
            torch.stack([data[i + 1 : i + 1 + T] for i in ix]),
        )

    @torch.no_grad()
    def evaluate(tokens: int) -> None:
        model.eval()
        for _ in range(max(1, math.ceil(tokens / (B * T)))):
            model(*batch()).item()
        model.train()

    k = spec["eval_points"]
    eval_at = {round(steps * i / (k + 1)) for i in range(1, k + 1)} - {0, steps}
    for it in range(steps):
        frac = it / max(1, steps)
        for g in opt.param_groups:  # cosine to 10% (the product's schedule, warmup omitted)
            g["lr"] = spec["lr"] * (0.1 + 0.45 * (1 + math.cos(math.pi * frac)))
        x, y = batch()
        loss = model(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        loss.item()
        if it + 1 in eval_at:
            evaluate(spec["eval_tokens"])
    evaluate(spec["final_eval_tokens"])


def _plain(specs: list[dict[str, Any]], workers: int) -> float:
    def one(spec: dict[str, Any]) -> None:
        cmd = [sys.executable, str(Path(__file__)), "--plain", json.dumps(spec)]
        subprocess.run(cmd, check=True, capture_output=True)

    order = sorted(specs, key=lambda s: -s["steps"] * s["d_model"])  # longest first
    t0 = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(one, order))
    return time.perf_counter() - t0


def _grid_flops(out: Path) -> tuple[int, float]:
    from scaling.analysis import results

    df = results.load(out)
    return len(df), float(df[f"flops_{CONVENTION}"].sum())


def _run_seconds(out: Path, wall_seconds: float, workers: int) -> dict[str, float]:
    """Training-step seconds summed over the sweep's runs (a pack step's time is shared by the
    runs it stepped) and the share of the workers' time (wall x workers) spent elsewhere:
    process start, composition, data, evaluation, tasks, checkpoints, records, idle tails."""
    from scaling.analysis import results

    df = results.load(out)
    train = float(df.train_seconds.sum())
    return {
        "sum_train_seconds": round(train, 1),
        "sum_eval_seconds": round(float(df.get("eval_seconds", 0).sum()), 1),
        "sum_task_seconds": round(float(df.get("task_seconds", 0).sum()), 1),
        "outside_training_share": round(1 - train / (wall_seconds * workers), 3),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--grid", default="quickstart", help="an experiment (configs/experiment)")
    ap.add_argument("--budgets", default=None, help="a subset of the grid's budget.flops")
    ap.add_argument("--models", default=None, help="a subset of the grid's models")
    ap.add_argument("--ways", default="shipped,unpacked,plain")
    ap.add_argument("--workers", type=int, default=2, help="plain loop: processes at a time")
    ap.add_argument("--plain", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.plain:
        plain_run(json.loads(args.plain))
        return 0
    from scaling.train.calibrate import matmul_peak_flops

    overrides = _overrides(args)
    peak = matmul_peak_flops(2)
    report: dict[str, Any] = {"grid": overrides, "peak_fp32_flops_2_threads": peak, "ways": {}}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        env = _env(root / "cache")
        _warm(overrides, root / "warm", env)
        extra = {"shipped": [], "unpacked": ["runtime.pack=1"], "bf16": ["runtime.precision=bf16"]}
        grid: tuple[int, float] | None = None
        for way in args.ways.split(","):
            if way == "plain":
                wall = _plain(_grid_runs(overrides), args.workers)
            else:
                wall = _sweep([*overrides, *extra[way]], root / way, env)
                grid = grid or _grid_flops(root / way)
            report["ways"][way] = {"wall_seconds": round(wall, 1)}
            if way != "plain":
                report["ways"][way] |= _run_seconds(root / way, wall, os.cpu_count() or 1)
            print(f"{way}: {wall:.1f} s", file=sys.stderr)
    if grid is None:
        raise SystemExit("need at least one product way to count the grid's FLOPs")
    runs, flops = grid
    report["runs"], report[f"flops_{CONVENTION}"] = runs, flops
    for r in report["ways"].values():
        r["flops_per_second"] = flops / r["wall_seconds"]
        r["fraction_of_peak"] = round(r["flops_per_second"] / peak, 4)
    walls = {w: r["wall_seconds"] for w, r in report["ways"].items()}
    report["speedup"] = {
        f"{a}_vs_{b}": round(walls[b] / walls[a], 3) for a in walls for b in walls if a != b
    }
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
