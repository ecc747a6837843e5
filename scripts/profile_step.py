"""Where a training step's time goes: torch.profiler over solo and packed steps of one shape.

    python scripts/profile_step.py [--d-model 8] [--n-layer 1] [--n-head 1] [--pack 6]
        [--steps 20] [--rows 15]

Builds the shape at the product's batch (4 x 128 tokens, byte vocabulary 257), times the solo
step (``Transformer`` + ``clip_grad_norm_`` + ``torch.optim.AdamW(foreach=True)``, as
``train.trainer``) and the packed step of ``--pack`` runs (``train.packed.PackedLoop``) on one
thread, in alternating turns of 5 steps, prints their medians and the packing speedup
(pack x solo / packed), then the profiler's top operators by self CPU time for each. This is
the profile behind issue 11's notes: at d_model 8-64 the time goes to the output head's matmul
and its log-softmax over 257 logits a token, attention, and the optimizer, which packing
amortises only in part.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np
import torch
from torch.profiler import ProfilerActivity, profile

from scaling.core.config import OptimConfig
from scaling.core.flops import Shape
from scaling.model.transformer import Transformer
from scaling.train.packed import PackedLoop, PackedRun

BATCH, CONTEXT, VOCAB = 4, 128, 257


def _solo(shape: Shape, rng: np.random.Generator):
    torch.manual_seed(0)
    model = Transformer(shape)
    opt = torch.optim.AdamW(model.optimizer_groups(0.1), lr=1e-3, betas=(0.9, 0.95), foreach=True)
    params = list(model.parameters())

    def step() -> None:
        x = torch.as_tensor(rng.integers(0, VOCAB - 1, (BATCH, CONTEXT)))
        y = torch.as_tensor(rng.integers(0, VOCAB - 1, (BATCH, CONTEXT)))
        _, loss = model(x, y, None)
        float(loss.detach())
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0, foreach=True)
        opt.step()
        opt.zero_grad(set_to_none=True)

    return step


def _packed(shape: Shape, k: int, rng: np.random.Generator):
    loop = PackedLoop(shape, [PackedRun(s, 10**9, 1e-3) for s in range(k)], OptimConfig())

    def step() -> None:
        batches = {
            r: (
                rng.integers(0, VOCAB - 1, (BATCH, CONTEXT)),
                rng.integers(0, VOCAB - 1, (BATCH, CONTEXT)),
                None,
            )
            for r in loop.pending
        }
        loop.train_step(batches)

    return step


def _interleaved_medians(solo, packed, steps: int, turn: int = 5) -> tuple[float, float]:
    """Median step seconds of each, timed in alternating turns of ``turn`` steps so that a
    shared machine's load changes hit both alike."""
    for _ in range(3):
        solo()
        packed()
    times: dict[str, list[float]] = {"solo": [], "packed": []}
    while len(times["packed"]) < steps:
        for name, step in (("solo", solo), ("packed", packed)):
            for _ in range(turn):
                t0 = time.perf_counter()
                step()
                times[name].append(time.perf_counter() - t0)
    return statistics.median(times["solo"]), statistics.median(times["packed"])


def _table(step, steps: int, rows: int) -> str:
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(steps):
            step()
    return prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--d-model", type=int, default=8)
    ap.add_argument("--n-layer", type=int, default=1)
    ap.add_argument("--n-head", type=int, default=1)
    ap.add_argument("--pack", type=int, default=6)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--rows", type=int, default=15)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    d = args.d_model
    shape = Shape(args.n_layer, d, args.n_head, 4 * d, CONTEXT, VOCAB, True)
    rng = np.random.default_rng(0)
    solo, packed = _solo(shape, rng), _packed(shape, args.pack, rng)
    solo_s, packed_s = _interleaved_medians(solo, packed, args.steps)
    summary = {
        "shape": {"n_layer": args.n_layer, "d_model": d, "n_head": args.n_head},
        "pack": args.pack,
        "solo_ms_per_step": round(1e3 * solo_s, 3),
        "packed_ms_per_step": round(1e3 * packed_s, 3),
        "packed_ms_per_run_step": round(1e3 * packed_s / args.pack, 3),
        "pack_speedup": round(args.pack * solo_s / packed_s, 3),
    }
    print(json.dumps(summary))
    print("\nsolo step:\n" + _table(solo, args.steps, args.rows))
    print(f"\npacked step (K={args.pack}):\n" + _table(packed, args.steps, args.rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
