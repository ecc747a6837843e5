"""Per-run overhead of the launchers and of checkpointing, measured side by side in one run.

    python scripts/bench_sweep.py [--budgets 2e8,6e8,2e9] [--models xxxs,xxs]

Runs the same toy sweep (budgets x models x web/frontier, debug=toy) once per launcher
(local = sequential in-process, parallel = joblib, subprocess = submitit_local) into fresh
temporary directories, with a shared, pre-warmed data cache. Prints JSON:

- per launcher: sweep wall seconds (process start to exit, Hydra composition included), the sum
  of the runs' own wall seconds (result.json ``wall_seconds``: data, training, evaluation,
  checkpoints), and the launcher overhead per run
  ``(sweep_wall * workers - sum(run_wall)) / runs`` (time a worker slot is busy on anything
  but a run's own work: process start, imports, config composition, scheduling, idle tails);
- checkpointing: ``checkpoint_seconds`` over ``wall_seconds`` summed over all runs (checkpoints
  are written at every periodic evaluation and at the end of training), and per checkpoint.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from scaling.analysis import results

BIN = Path(sys.executable).parent
WORKERS = {"local": 1, "parallel": os.cpu_count() or 1, "subprocess": os.cpu_count() or 1}


def sweep(launcher: str, out: Path, budgets: str, models: str, env: dict[str, str]) -> float:
    cmd = [
        str(BIN / "scaling-train"),
        "-m",
        f"hydra/launcher={launcher}",
        "debug=toy",
        f"budget.flops={budgets}",
        f"model={models}",
        "data=smoke_web,smoke_frontier",
        "~hydra.callbacks.analyze",  # time the runs, not the fits
        f"runtime.out_dir={out}",
    ]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{launcher}: sweep failed:\n{proc.stderr[-2000:]}")
    return wall


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budgets", default="2e8,6e8,2e9")
    ap.add_argument("--models", default="xxxs,xxs")
    ap.add_argument("--launchers", default="local,parallel,subprocess")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "WANDB_MODE": "disabled", "SCALING_CACHE_DIR": f"{tmp}/cache"}
        sweep("local", Path(tmp) / "warm", args.budgets.split(",")[0], "xxxs", env)  # fill cache
        report: dict[str, object] = {"budgets": args.budgets, "models": args.models}
        ckpt_s, run_s, n_ckpt = 0.0, 0.0, 0
        for launcher in args.launchers.split(","):
            out = Path(tmp) / launcher
            wall = sweep(launcher, out, args.budgets, args.models, env)
            df = results.load(out)
            workers = WORKERS[launcher]
            busy = float(df.wall_seconds.sum())
            report[launcher] = {
                "runs": len(df),
                "workers": workers,
                "sweep_wall_seconds": round(wall, 2),
                "sum_run_wall_seconds": round(busy, 2),
                "overhead_seconds_per_run": round((wall * workers - busy) / len(df), 3),
            }
            ckpt_s += float(df.checkpoint_seconds.sum())
            run_s += busy
            n_ckpt += int(df.checkpoints.sum())
        report["checkpoint"] = {
            "fraction_of_run_wall": round(ckpt_s / run_s, 5),
            "seconds_per_checkpoint": round(ckpt_s / n_ckpt, 4),
        }
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
