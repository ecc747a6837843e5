"""Whole runs, packed against solo, on the real training path (``train.pack_runner``).

    python scripts/bench_pack_runs.py [--model xs] [--seeds 0,1,2,3] [--budget 1e11]
        [--data frontier]

The quickstart's run of one grid point at several seeds (same shape: one pack), trained one
after another with ``Trainer.run_to_end`` and then as one pack with ``train_pack``, in this
process, 1 thread; prints JSON: wall seconds each way, their ratio, achieved GFLOP/s (6N_attn)
and the largest relative difference of the final held-out losses.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile
import time

from scaling.cli import grid
from scaling.train.pack_runner import train_pack
from scaling.train.trainer import Trainer


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="xs")
    ap.add_argument("--seeds", default="0,1,2,3")
    ap.add_argument("--budget", default="1e11")
    ap.add_argument("--data", default="frontier")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        runs, _ = grid.expand(
            [
                "experiment=quickstart",
                f"model={args.model}",
                f"budget.flops={args.budget}",
                f"data={args.data}",
                f"seed={args.seeds}",
                f"runtime.out_dir={tmp}",
                "runtime.progress=none",
                "hydra.callbacks={}",
            ]
        )
        runs = [
            dataclasses.replace(r, runtime=dataclasses.replace(r.runtime, threads=1)) for r in runs
        ]
        t0 = time.perf_counter()
        solo = [Trainer(r).run_to_end() for r in runs]
        t_solo = time.perf_counter() - t0
        t0 = time.perf_counter()
        packed = train_pack(runs)
        t_pack = time.perf_counter() - t0
    flops = sum(r.flops_by_convention["6N_attn"] for r in solo)
    dom = runs[0].data.eval_domain
    diff = max(
        abs(p.final_eval[dom]["loss"] / s.final_eval[dom]["loss"] - 1)
        for p, s in zip(packed, solo, strict=True)
    )
    print(
        json.dumps(
            {
                "runs": len(runs),
                "model": args.model,
                "budget_flops": float(args.budget),
                "solo_seconds": t_solo,
                "pack_seconds": t_pack,
                "speedup": t_solo / t_pack,
                "solo_gflops_per_second": flops / t_solo / 1e9,
                "pack_gflops_per_second": flops / t_pack / 1e9,
                "max_final_loss_rel_diff": diff,
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
