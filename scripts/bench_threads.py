"""Thread layout on this machine: the same runs trained by 2 processes x 1 thread against
1 process x 2 threads, side by side in one invocation (issue 11, item 4).
    python scripts/bench_threads.py [--models xs,m] [--seeds 0,1] [--budget 1e11]
        [--data frontier]
    python scripts/bench_threads.py [--models xs,m] [--seeds 0,1] [--budget 1e11] [--data frontier]

Every run is the quickstart's run of that grid point. Layout "2x1": two worker processes with
``torch.set_num_threads(1)`` share the runs (as the joblib launcher's default does); layout "1x2":
one process with two threads trains them one after another. Prints JSON with the wall seconds of
each layout, their ratio and the achieved GFLOP/s (6N_attn).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import multiprocessing as mp
import tempfile
import time


def _train(payload: tuple[list[dict], int]) -> float:
    """Train the runs (as config dicts) at ``threads`` threads; their summed 6N_attn FLOPs."""
    from scaling.core.config import run_config_from_dict
    from scaling.train.trainer import Trainer

    raws, threads = payload
    flops = 0.0
    for raw in raws:
        run = run_config_from_dict(raw)
        run = dataclasses.replace(run, runtime=dataclasses.replace(run.runtime, threads=threads))
        flops += Trainer(run).run_to_end().flops_by_convention["6N_attn"]
    return flops


def main() -> None:
    from scaling.cli import grid

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="xs,m")
    ap.add_argument("--seeds", default="0,1")
    ap.add_argument("--budget", default="1e11")
    ap.add_argument("--data", default="frontier")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        runs, _ = grid.expand(
            [
                "experiment=quickstart",
                f"model={args.models}",
                f"seed={args.seeds}",
                f"budget.flops={args.budget}",
                f"data={args.data}",
                f"runtime.out_dir={tmp}",
                "runtime.progress=none",
                "hydra.callbacks={}",
            ]
        )
        raws = [r.to_dict() for r in runs]
        ctx = mp.get_context("spawn")
        out = {"runs": len(raws)}
        with ctx.Pool(2) as pool:  # warm both workers (imports, data cache) before timing
            pool.map(_train, [(raws[:1], 1), (raws[:1], 1)])
            t0 = time.perf_counter()
            flops = sum(pool.map(_train, [(raws[0::2], 1), (raws[1::2], 1)]))
            out["2x1_seconds"] = time.perf_counter() - t0
        with ctx.Pool(1) as pool:
            pool.map(_train, [(raws[:1], 2)])
            t0 = time.perf_counter()
            pool.map(_train, [(raws, 2)])
            out["1x2_seconds"] = time.perf_counter() - t0
    out["gflops_per_second_2x1"] = flops / out["2x1_seconds"] / 1e9
    out["gflops_per_second_1x2"] = flops / out["1x2_seconds"] / 1e9
    out["ratio_1x2_over_2x1"] = out["1x2_seconds"] / out["2x1_seconds"]
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
