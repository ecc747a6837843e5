"""bf16 autocast against fp32 on CPU, on quickstart grid points: held-out loss and tokens/s.

    python scripts/bench_precision.py [--models xxs,s,m] [--budget 1e11] [--data web,frontier]

Each point is the quickstart's own run (``experiment=quickstart``, same seed and data), trained
twice in this process, once per ``runtime.precision``, side by side; prints one JSON object with
the held-out loss of each, their relative difference and the throughput ratio.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile

from scaling.cli import grid
from scaling.train.trainer import Trainer


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="xxs,s,m")
    ap.add_argument("--budget", default="1e11")
    ap.add_argument("--data", default="web,frontier")
    args = ap.parse_args()
    runs, _ = grid.expand(
        [
            "experiment=quickstart",
            f"model={args.models}",
            f"budget.flops={args.budget}",
            f"data={args.data}",
            "hydra.callbacks={}",
        ]
    )
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for run in runs:
            out = {}
            for precision in ("fp32", "bf16"):
                rt = dataclasses.replace(
                    run.runtime, precision=precision, out_dir=tmp, progress="none"
                )
                res = Trainer(dataclasses.replace(run, runtime=rt)).run_to_end()
                dom = run.data.eval_domain
                out[precision] = {
                    "loss": res.final_eval[dom]["loss"],
                    "tokens_per_second": res.tokens_per_second,
                }
            rows.append(
                {
                    "data": run.data.name,
                    "model": run.model.name,
                    "flops": run.budget.flops,
                    **{f"{p}_{k}": v for p, m in out.items() for k, v in m.items()},
                    "loss_rel_diff": out["bf16"]["loss"] / out["fp32"]["loss"] - 1,
                    "speed_ratio": out["bf16"]["tokens_per_second"]
                    / out["fp32"]["tokens_per_second"],
                }
            )
            print(json.dumps(rows[-1]), flush=True)
    print(json.dumps({"points": rows}, indent=1))


if __name__ == "__main__":
    main()
