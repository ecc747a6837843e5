"""Throughput of K runs trained as one pack (``scaling.train.packed``) against K solo loops.

For each shape (the configs/model ladder xs, m, l and a d_model-128 model) and K in 1, 2, 4, 8,
measures side by side, in one process on one thread (``torch.set_num_threads(1)``), batch 4 x
context 128 (512 tokens a step, the product's default):

``solo``
    K solo loops one after another, each exactly the loop of ``Trainer.run_to_end``: set the
    scheduled lr, forward, backward, ``clip_grad_norm_(foreach=True)``,
    ``torch.optim.AdamW(foreach=True).step()``, ``zero_grad``.
``packed``
    the engine: ``PackedModel`` (explicit batched weights, ``torch.bmm`` over the model axis)
    + ``PackedAdamW`` through ``packed_step``.
``vmap``
    the alternative design: ``torch.func.vmap(functional_call(Transformer))`` over the same
    stacked parameters and the same ``PackedAdamW``.

Result (2-core machine shared with other work, torch 2.13 CPU, 8 steps x 3 rounds): the
explicit model won on every row; at K=8 packed/solo was 1.67 (xs), 1.32 (m), 1.28 (l) and
1.00 (d_model 128, already compute bound), vmap/solo 1.12, 1.10, 1.17, 0.97. So the engine is
the explicit model.

Each method times ``--steps`` steps after ``--warmup`` untimed ones, the methods alternating for
``--repeats`` rounds so all see the same machine state; the median round is reported. Prints
JSON: tokens/s per method (tokens of all K runs), achieved GFLOP/s under 6N_attn
(``scaling.core.flops``) and the ratios packed/solo and vmap/solo.

    python scripts/bench_pack.py [--steps 8] [--warmup 2] [--repeats 3] [--ks 1,2,4,8]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
import warnings

import torch
from torch.func import functional_call, vmap

from scaling.core import flops as FL
from scaling.core.flops import Shape
from scaling.model.transformer import Transformer
from scaling.train.packed import PackedAdamW, PackedModel, build_runs, packed_step
from scaling.train.schedule import lr_at

SHAPES = {"xs": (1, 24, 2), "m": (2, 48, 3), "l": (3, 64, 4), "d128": (4, 128, 4)}
CONTEXT, BATCH, VOCAB = 128, 4, 257
BETAS, EPS, WD, CLIP, PEAK, WARMUP, FINAL = (0.9, 0.95), 1e-8, 0.1, 1.0, 6e-3, 0.05, 0.1
TOTAL_STEPS = 1000  # the schedule's length; only its first steps are timed


def _data(K: int, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, VOCAB, (n, K, BATCH, CONTEXT), generator=g)
    return x, torch.roll(x, -1, dims=-1)


class Solo:
    """K solo loops, one after another, each the loop of ``Trainer.run_to_end``."""

    def __init__(self, shape: Shape, K: int) -> None:
        self.models = build_runs(shape, range(K))
        self.opts = [
            torch.optim.AdamW(m.optimizer_groups(WD), lr=PEAK, betas=BETAS, eps=EPS, foreach=True)
            for m in self.models
        ]
        self.step = [0] * K

    def run(self, x: torch.Tensor, y: torch.Tensor, n: int) -> None:
        for k, (m, opt) in enumerate(zip(self.models, self.opts, strict=True)):
            params = [p for p in m.parameters() if p.requires_grad]
            for i in range(n):
                lr = lr_at(self.step[k], TOTAL_STEPS, PEAK, WARMUP, FINAL)
                for g in opt.param_groups:
                    g["lr"] = lr
                _, loss = m(x[i, k], y[i, k])
                float(loss.detach())  # the trainer's divergence check syncs on the loss
                loss.backward()
                float(torch.nn.utils.clip_grad_norm_(params, CLIP, foreach=True))
                opt.step()
                opt.zero_grad(set_to_none=True)
                self.step[k] += 1


class Packed:
    """One pack of K runs through ``packed_step``; ``vmap`` swaps in the vmap forward."""

    def __init__(self, shape: Shape, K: int, use_vmap: bool = False) -> None:
        self.model = PackedModel(shape, range(K))
        self.opt = PackedAdamW(self.model, BETAS, EPS, WD)
        self.K, self.step = K, 0
        if use_vmap:
            template = Transformer(shape)

            def loss(params: dict, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
                return functional_call(template, params, (x, y))[1]

            batched = vmap(loss)
            model = self.model

            def forward(x: torch.Tensor, y: torch.Tensor, m: None = None) -> tuple:
                return None, batched(model.params, x, y)

            self.forward = forward
        else:
            self.forward = None

    def run(self, x: torch.Tensor, y: torch.Tensor, n: int) -> None:
        active = [True] * self.K
        for i in range(n):
            lr = [lr_at(self.step, TOTAL_STEPS, PEAK, WARMUP, FINAL)] * self.K
            if self.forward is None:
                losses, _ = packed_step(self.model, self.opt, (x[i], y[i], None), lr, active, CLIP)
            else:
                self.model.zero_grad()
                _, losses = self.forward(x[i], y[i])
                losses.sum().backward()
                self.opt.clip_grad_norm_(CLIP, active)
                self.opt.step(lr, active)
            losses.tolist()  # per-run divergence check
            self.step += 1


def bench(name: str, K: int, steps: int, warmup: int, repeats: int) -> dict:
    n_layer, d, h = SHAPES[name]
    shape = Shape(n_layer, d, h, 4 * d, CONTEXT, VOCAB, True)
    x, y = _data(K, warmup + steps)
    methods = {"solo": Solo(shape, K), "packed": Packed(shape, K), "vmap": Packed(shape, K, True)}
    for m in methods.values():
        m.run(x, y, warmup)
    secs: dict[str, list[float]] = {k: [] for k in methods}
    for _ in range(repeats):
        for key, m in methods.items():
            t0 = time.perf_counter()
            m.run(x[warmup:], y[warmup:], steps)
            secs[key].append(time.perf_counter() - t0)
    tokens = K * steps * BATCH * CONTEXT
    fpt = FL.flops_per_token(shape, "6N_attn")
    out: dict = {"shape": name, "K": K, "params": FL.params_total(shape)}
    for key, s in secs.items():
        tps = tokens / statistics.median(s)
        out[f"{key}_tokens_per_s"] = round(tps)
        out[f"{key}_gflops"] = round(tps * fpt / 1e9, 2)
    out["packed_over_solo"] = round(out["packed_tokens_per_s"] / out["solo_tokens_per_s"], 2)
    out["vmap_over_solo"] = round(out["vmap_tokens_per_s"] / out["solo_tokens_per_s"], 2)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--ks", default="1,2,4,8")
    ap.add_argument("--shapes", default=",".join(SHAPES))
    args = ap.parse_args()
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore", message="grad and param do not obey")
    warnings.filterwarnings("ignore", message="There is a performance drop")  # vmap's SDPA
    t0 = time.perf_counter()
    rows = [
        bench(s, int(k), args.steps, args.warmup, args.repeats)
        for s in args.shapes.split(",")
        for k in args.ks.split(",")
    ]
    print(
        json.dumps(
            {
                "machine": platform.processor() or platform.machine(),
                "torch": torch.__version__,
                "threads": 1,
                "batch": BATCH,
                "context": CONTEXT,
                "steps": args.steps,
                "repeats": args.repeats,
                "wall_seconds": round(time.perf_counter() - t0, 1),
                "rows": rows,
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
