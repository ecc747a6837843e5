"""Training-step throughput of scaling-lab against a plain nanoGPT-style loop, side by side.

For each model shape (the ladder's xs, m, l and two wider ones, d_model 128 and 256), runs
(1) the product's real training path (``Trainer`` on a FLOP budget, data from the packed
stream) and (2) a plain loop written here in the style of nanoGPT's train.py (its own GPT
module with biases, ``get_batch`` by random offsets and ``torch.stack``, AdamW, clipping),
same shape, batch, context and threads, alternating repeats so both see the same machine
state. Prints JSON with tokens/s, achieved FLOP/s, model FLOP utilisation (MFU: achieved
6N_attn FLOP/s over this machine's measured fp32 matmul peak on the same thread count,
``train.calibrate.matmul_peak_flops``) and ``speedup`` = product tokens/s / plain tokens/s.

    python scripts/bench_train.py [--threads 1] [--steps 60] [--repeats 3]
        [--shapes xs,m,l,d128,d256] [--precision auto|fp32|bf16]
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from scaling.core import flops as FL
from scaling.core.config import (
    BudgetConfig,
    DataConfig,
    EvalConfig,
    ModelConfig,
    OptimConfig,
    RunConfig,
    RuntimeConfig,
    SourceConfig,
)
from scaling.data.stream import build_train_stream
from scaling.tokenizers.base import ByteTokenizer
from scaling.train.calibrate import matmul_peak_flops
from scaling.train.trainer import Trainer

SHAPES = {  # configs/model ladder, plus two wider shapes where the matmuls dominate
    "xs": (1, 24, 2),
    "m": (2, 48, 3),
    "l": (3, 64, 4),
    "d128": (4, 128, 4),
    "d256": (4, 256, 4),
}
CONTEXT, BATCH = 128, 4  # the product's defaults (configs/model, configs/optim)


# ---- a plain nanoGPT-style model and loop (Karpathy, nanoGPT model.py / train.py) ---------
class PlainBlock(nn.Module):
    def __init__(self, d: int, h: int) -> None:
        super().__init__()
        self.h = h
        self.ln_1, self.ln_2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.c_attn, self.c_proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.c_fc, self.mlp_proj = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, C = x.shape
        q, k, v = self.c_attn(self.ln_1(x)).split(C, dim=2)
        q, k, v = (t.view(B, T, self.h, C // self.h).transpose(1, 2) for t in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.c_proj(y.transpose(1, 2).contiguous().view(B, T, C))
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x))))


class PlainGPT(nn.Module):
    def __init__(self, n_layer: int, d: int, h: int, vocab: int, ctx: int) -> None:
        super().__init__()
        self.wte, self.wpe = nn.Embedding(vocab, d), nn.Embedding(ctx, d)
        self.blocks = nn.ModuleList(PlainBlock(d, h) for _ in range(n_layer))
        self.ln_f = nn.LayerNorm(d)
        self.lm_head = nn.Linear(d, vocab, bias=False)
        self.wte.weight = self.lm_head.weight

    def forward(self, idx: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        x = self.wte(idx) + self.wpe(torch.arange(idx.shape[1]))
        for b in self.blocks:
            x = b(x)
        logits = self.lm_head(self.ln_f(x))
        return F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))


def plain_loop(shape: tuple[int, int, int], data: np.ndarray, steps: int) -> float:
    """tokens/s of the plain loop (timed after 5 warm-up steps)."""
    torch.manual_seed(0)
    n_layer, d, h = shape
    model = PlainGPT(n_layer, d, h, 257, CONTEXT)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.95), weight_decay=0.1)
    gen = torch.Generator().manual_seed(0)
    tensor = torch.from_numpy(data.astype(np.int64))

    def get_batch() -> tuple[torch.Tensor, torch.Tensor]:
        ix = torch.randint(len(tensor) - CONTEXT - 1, (BATCH,), generator=gen)
        x = torch.stack([tensor[i : i + CONTEXT] for i in ix])
        y = torch.stack([tensor[i + 1 : i + 1 + CONTEXT] for i in ix])
        return x, y

    t0 = 0.0
    for it in range(steps + 5):
        if it == 5:
            t0 = time.perf_counter()
        x, y = get_batch()
        loss = model(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        loss.item()
    return steps * BATCH * CONTEXT / (time.perf_counter() - t0)


def product_loop(
    name: str, shape: tuple[int, int, int], steps: int, threads: int, precision: str = "auto"
) -> float:
    """tokens/s of scaling-lab's own training path (Trainer.run_to_end's timed steps)."""
    n_layer, d, h = shape
    web = SourceConfig(kind="installed_docs", packages=["stdlib"])
    model = ModelConfig(name=name, n_layer=n_layer, d_model=d, n_head=h, context=CONTEXT)
    s = FL.Shape(n_layer, d, h, 4 * d, CONTEXT, 257, True)
    flops = (steps + 0.4) * FL.flops_per_token(s, "6N_attn") * BATCH * CONTEXT
    run = RunConfig(
        model=model,
        data=DataConfig(name="web", mixture={"web": web}),
        budget=BudgetConfig(flops=flops),
        optim=OptimConfig(batch_size=BATCH),
        eval=EvalConfig(
            domains={"web": web},
            tasks={},
            tokens_per_domain=CONTEXT,
            final_tokens_per_domain=CONTEXT,
            points=0,
        ),
        runtime=RuntimeConfig(threads=threads, progress="none", precision=precision),
    )
    trainer = Trainer(run)
    res = trainer.run_to_end()
    return res.tokens_per_second


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--shapes", default=",".join(SHAPES), help="comma-separated subset of SHAPES")
    ap.add_argument(
        "--precision",
        choices=("auto", "fp32", "bf16"),
        default="auto",
        help="runtime.precision of the product's loop (the plain loop stays fp32)",
    )
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    web = DataConfig(name="web", mixture={"web": SourceConfig(packages=["stdlib"])})
    data = build_train_stream(web, ByteTokenizer(), 400_000, seed=0).tokens
    peak = matmul_peak_flops(args.threads)
    out = {
        "machine": platform.processor() or platform.machine(),
        "threads": args.threads,
        "torch": torch.__version__,
        "batch": BATCH,
        "context": CONTEXT,
        "steps_timed": args.steps,
        "repeats": args.repeats,
        "precision": args.precision,
        "matmul_peak_flops_per_second": peak,
        "shapes": {},
    }
    for name in args.shapes.split(","):
        shape = SHAPES[name]
        ours, plain = [], []
        for _ in range(args.repeats):  # alternate so drift hits both equally
            ours.append(product_loop(name, shape, args.steps, args.threads, args.precision))
            plain.append(plain_loop(shape, data, args.steps))
        s = FL.Shape(*shape[:2], shape[2], 4 * shape[1], CONTEXT, 257, True)
        fpt = FL.flops_per_token(s, "6N_attn")
        o, p = statistics.median(ours), statistics.median(plain)
        out["shapes"][name] = {
            "n_layer": shape[0],
            "d_model": shape[1],
            "n_head": shape[2],
            "params_6N_attn": FL.params_compute(s),
            "tokens_per_second": round(o),
            "plain_tokens_per_second": round(p),
            "flops_per_second": o * fpt,
            "mfu": o * fpt / peak,
            "plain_mfu": p * fpt / peak,
            "speedup": o / p,
            "tokens_per_second_runs": [round(v) for v in ours],
            "plain_tokens_per_second_runs": [round(v) for v in plain],
        }
    out["geomean_speedup"] = math.exp(
        statistics.fmean(math.log(v["speedup"]) for v in out["shapes"].values())
    )
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
