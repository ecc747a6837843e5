"""Throughput calibration: tokens per second of a model shape on this machine, measured by
timing a few real training steps (forward, backward, clipping, AdamW) on random tokens; and the
machine's fp32 matmul peak, the yardstick of a sweep's efficiency."""

from __future__ import annotations

import time
from functools import cache

import torch

from scaling.core.flops import Shape
from scaling.model.transformer import Transformer


@cache
def tokens_per_second(shape: Shape, batch_size: int, threads: int, steps: int = 12) -> float:
    """Median-free quick estimate: mean over ``steps`` timed steps after 3 warm-up steps."""
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = Transformer(shape)
    opt = torch.optim.AdamW(model.optimizer_groups(0.1), lr=1e-3)
    x = torch.randint(0, shape.vocab_size, (batch_size, shape.context))
    t0 = 0.0
    for i in range(steps + 3):
        if i == 3:
            t0 = time.perf_counter()
        _, loss = model(x, x)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
    return steps * batch_size * shape.context / (time.perf_counter() - t0)


@cache
def matmul_peak_flops(threads: int, n: int = 1024, reps: int = 8) -> float:
    """FLOP/s of an n x n fp32 ``torch.mm`` at ``threads`` threads (best of ``reps`` after one
    warm-up): the measured ceiling the issue-11 efficiency target is stated against (2 n^3 FLOPs
    a product). Measured here: about 95-100 GFLOP/s a thread on this CPU."""
    torch.set_num_threads(threads)
    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.mm(a, b)
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - t0)
    return 2.0 * n**3 / best
