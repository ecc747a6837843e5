"""Does ``torch.compile`` (inductor, CPU) pay back for scaling-lab's training step, at what cost?

For each model shape (the ladder's xs, m, l and the wider d128 of bench_train.py), builds the
solo training step of ``Trainer.run_to_end``: the per-step learning-rate schedule (``lr_at``),
``Transformer(x, y)`` -> loss, ``loss.backward()``, ``clip_grad_norm_(foreach=True)``, AdamW
(``foreach=True``) step, ``zero_grad``; batch 4 x context 128, byte vocabulary 257, fp32, one
thread, batches taken in order from the packed stdlib-docs stream. Variants, each on its own
model from the same seed-0 init and fed the same batches:

* ``eager``: Trainer's step as it runs by default;
* ``compiled``: ``torch.compile(model)`` (default mode), i.e. ``runtime.compile: true``;
* ``compiled_opt``: ``compiled`` plus the optimizer step compiled as in PyTorch's "compiled
  optimizer" recipe (``torch.compile(fullgraph=False)`` around ``opt.step()``). The learning rate
  is then a tensor (``lr=torch.tensor(..)``, ``capturable=True``, updated with ``fill_``): with
  the float lr that Trainer assigns every step, dynamo guards on its value and recompiles at every
  change until it hits ``recompile_limit`` (8) and falls back to eager;
* ``eager_compiled_opt``: eager model, compiled optimizer step;
* ``max_autotune`` (only with ``--max-autotune``): ``torch.compile(model,
  mode="max-autotune-no-cudagraphs")``.

Measured, per shape:

* steady-state seconds per step, in this process, after 3 warm-up steps per variant (which
  include compilation): the variants take turns of ``--chunk`` steps (the first to go rotating)
  until each has run ``--steps`` timed steps, so load changes on a shared machine hit all of
  them alike. A turn's median step time is one sample; ``*_s_per_step`` is the median over
  turns, and ``speedup`` (with its interquartile range) and ``saving_s_per_step`` are medians
  over the turns of the same round paired with eager's;
* compile cost, in fresh subprocesses so that no in-process cache hides it: ``cold`` with an empty
  ``TORCHINDUCTOR_CACHE_DIR`` (set before torch is imported), ``warm`` a second subprocess on the
  same directory (FX-graph / AOTAutograd cache hits; dynamo still traces). The worker runs
  ``compiled_opt`` and times the model part (forward, backward, clipping) and the optimizer part
  of each step separately, so one subprocess gives both costs: cost = time of the first 3 steps
  minus 3 x that part's steady median (the first step holds nearly all of it). Process start-up
  and ``import torch`` are excluded (eager pays them too);
* ``breakeven_steps_{warm,cold}`` = compile cost / ``saving_s_per_step`` (eager - compiled)
  (``null`` when compiled is not faster: it never pays back);
* agreement: max relative difference of the training losses of each variant against eager over
  the first 20 steps from the same init.

Inductor's compile workers are limited to ``--compile-threads`` (default 1, as a sweep job on a
shared machine would run). Prints one JSON object to stdout; the default run takes about 5-8
minutes on a 2-core machine.

    python scripts/bench_compile.py [--models xs,m,l,d128] [--steps 200] [--chunk 5]
        [--compile-threads 1] [--max-autotune]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from scaling.core.config import DataConfig, SourceConfig
from scaling.core.flops import Shape, params_total
from scaling.data.stream import build_train_stream
from scaling.model.transformer import Transformer
from scaling.tokenizers.base import ByteTokenizer
from scaling.train.schedule import lr_at

SHAPES = {  # (n_layer, d_model, n_head): configs/model xs, m, l and bench_train.py's d128
    "xs": (1, 24, 2),
    "m": (2, 48, 3),
    "l": (3, 64, 4),
    "d128": (4, 128, 4),
}
CONTEXT, BATCH, VOCAB = 128, 4, 257
# OptimConfig defaults; the schedule runs over a nominal run of NOMINAL_STEPS so the lr changes at
# every step, as in a real run
PEAK_LR, BETAS, EPS, WEIGHT_DECAY, GRAD_CLIP = 6e-3, (0.9, 0.95), 1e-8, 0.1, 1.0
WARMUP_FRACTION, FINAL_LR_FRACTION, NOMINAL_STEPS = 0.05, 0.1, 2000
N_BATCHES = 64  # batches cycled through (ids 0..63 of the stream)
WARMUP_STEPS = 3  # untimed steps per variant before timing (compilation happens here)
WORKER_STEADY = 10  # steady steps a compile-cost worker times after its warm-up
AGREE_STEPS = 20
VARIANTS = ("eager", "compiled", "compiled_opt", "eager_compiled_opt")


def make_batches(path: Path) -> None:
    """The first N_BATCHES training batches of the stdlib-docs stream, as int64 (x, y) pairs."""
    web = DataConfig(
        name="web", mixture={"web": SourceConfig(kind="installed_docs", packages=["stdlib"])}
    )
    stream = build_train_stream(web, ByteTokenizer(), (N_BATCHES + 1) * BATCH * CONTEXT, seed=0)
    xy = [stream.batch(i, BATCH, CONTEXT)[:2] for i in range(N_BATCHES)]
    np.save(path, np.stack([np.stack(p) for p in xy]).astype(np.int64))  # (N, 2, B, T)


class TrainStep:
    """One variant of Trainer's solo step, on its own model and optimizer (seed-0 init)."""

    def __init__(self, shape: tuple[int, int, int], variant: str, batches: np.ndarray) -> None:
        n_layer, d, h = shape
        torch.manual_seed(0)
        self.model = Transformer(Shape(n_layer, d, h, 4 * d, CONTEXT, VOCAB, True))
        self.model.train()
        self.batches = batches
        compile_model = variant in ("compiled", "compiled_opt", "max_autotune")
        self.tensor_lr = variant in ("compiled_opt", "eager_compiled_opt")
        mode = "max-autotune-no-cudagraphs" if variant == "max_autotune" else None
        self.forward: Callable[..., Any] = (
            torch.compile(self.model, mode=mode) if compile_model else self.model
        )
        self.optimizer = torch.optim.AdamW(
            self.model.optimizer_groups(WEIGHT_DECAY),
            lr=torch.tensor(PEAK_LR) if self.tensor_lr else PEAK_LR,
            betas=BETAS,
            eps=EPS,
            foreach=True,
            capturable=self.tensor_lr,  # a tensor lr with foreach requires capturable
        )
        self.opt_step: Callable[[], Any] = self.optimizer.step
        if self.tensor_lr:
            optimizer = self.optimizer

            @torch.compile(fullgraph=False)
            def compiled_step() -> None:
                optimizer.step()

            self.opt_step = compiled_step
        self.params = [p for p in self.model.parameters() if p.requires_grad]
        self.step = 0
        self.losses: list[float] = []

    def __call__(self) -> tuple[float, float]:
        """One training step; returns (seconds of the whole step, seconds of its optimizer part)."""
        t0 = time.perf_counter()
        lr = lr_at(self.step, NOMINAL_STEPS, PEAK_LR, WARMUP_FRACTION, FINAL_LR_FRACTION)
        for g in self.optimizer.param_groups:
            if self.tensor_lr:
                g["lr"].fill_(lr)
            else:
                g["lr"] = lr
        x, y = self.batches[self.step % len(self.batches)]
        _, loss = self.forward(torch.as_tensor(x), torch.as_tensor(y))
        loss_value = float(loss.detach())
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.params, GRAD_CLIP, foreach=True)
        t1 = time.perf_counter()
        self.opt_step()
        self.optimizer.zero_grad(set_to_none=True)
        t2 = time.perf_counter()
        self.losses.append(loss_value)
        self.step += 1
        return t2 - t0, t2 - t1


def short_error(e: BaseException) -> str:
    lines = [ln for ln in str(e).splitlines() if ln.strip()]
    return f"{type(e).__name__}: {' | '.join(lines[:6])}"[:1500]


# ---- compile cost: one fresh subprocess per cache state ---------------------------------------
def worker(name: str, variant: str, batches_path: str) -> None:
    """Subprocess body: WARMUP_STEPS + WORKER_STEADY steps; prints the timings as JSON."""
    torch.set_num_threads(1)
    step = TrainStep(SHAPES[name], variant, np.load(batches_path))
    times = [step() for _ in range(WARMUP_STEPS + WORKER_STEADY)]
    total = [t for t, _ in times]
    opt = [o for _, o in times]
    model = [t - o for t, o in times]

    def excess(xs: list[float]) -> float:
        return sum(xs[:WARMUP_STEPS]) - WARMUP_STEPS * statistics.median(xs[WARMUP_STEPS:])

    print(
        json.dumps(
            {
                "first_step_s": total[0],
                "compile_model_s": excess(model),
                "compile_opt_s": excess(opt),
                "compile_total_s": excess(total),
                "steady_s_per_step": statistics.median(total[WARMUP_STEPS:]),
            }
        )
    )


def run_worker(
    name: str, variant: str, batches: Path, cache_dir: Path, compile_threads: int
) -> dict[str, Any]:
    env = dict(os.environ)
    env["TORCHINDUCTOR_CACHE_DIR"] = str(cache_dir)
    env["TORCHINDUCTOR_COMPILE_THREADS"] = str(compile_threads)
    env["OMP_NUM_THREADS"] = "1"
    cmd = [sys.executable, __file__, "--worker", name, "--variant", variant]
    cmd += ["--batches", str(batches)]
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
    except subprocess.TimeoutExpired:
        return {"error": "worker timed out after 900 s"}
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        tail = [ln for ln in proc.stderr.splitlines() if ln.strip()][-8:]
        return {"error": f"exit {proc.returncode}: " + " | ".join(tail)[-1500:]}
    return json.loads(proc.stdout.strip().splitlines()[-1]) | {"process_wall_s": wall}


# ---- steady state: interleaved in this process -----------------------------------------------
@contextlib.contextmanager
def inductor_cache(path: Path) -> Iterator[None]:
    """Point this process's inductor cache at ``path`` (the shape's, warmed by the workers)."""
    try:
        from torch._inductor.runtime.cache_dir_utils import temporary_cache_dir
    except ImportError:  # private API; without it the in-process compile just takes longer
        yield
        return
    with temporary_cache_dir(str(path)):
        yield


def steady_state(
    name: str, variants: list[str], batches: np.ndarray, steps: int, chunk: int
) -> dict[str, Any]:
    """Warm up every variant, then let them take turns of ``chunk`` steps (the first to go
    rotating) until each has run ``steps`` timed steps; each turn's median step time is one
    sample, and eager and another variant's samples of the same round are a pair."""
    torch._dynamo.reset()
    runners: dict[str, TrainStep] = {}
    out: dict[str, Any] = {"errors": {}, "first_step_s": {}}
    for v in variants:
        try:
            runner = TrainStep(SHAPES[name], v, batches)
            warm = [runner() for _ in range(WARMUP_STEPS)]
        except Exception as e:  # noqa: BLE001 - a failed compile is a result, not a crash
            out["errors"][v] = short_error(e)
            continue
        out["first_step_s"][v] = warm[0][0]
        runners[v] = runner
    turns: dict[str, list[float]] = {v: [] for v in runners}
    opt_part: dict[str, list[float]] = {v: [] for v in runners}
    for k in range(max(1, steps // chunk)):
        order = list(runners)
        order = order[k % len(order) :] + order[: k % len(order)] if order else order
        for v in order:
            try:
                times = [runners[v]() for _ in range(chunk)]
            except Exception as e:  # noqa: BLE001 - as above
                out["errors"][v] = short_error(e)
                del runners[v], turns[v], opt_part[v]
                continue
            turns[v].append(statistics.median(t for t, _ in times))
            opt_part[v].append(statistics.median(o for _, o in times))
    out["s_per_step"] = {v: statistics.median(xs) for v, xs in turns.items()}
    out["opt_step_s"] = {v: statistics.median(xs) for v, xs in opt_part.items()}
    out["paired"] = {}
    if "eager" in runners:
        ref = runners["eager"].losses[:AGREE_STEPS]
        out["loss_max_rel_diff"] = {
            v: max(abs(a - b) / abs(b) for a, b in zip(r.losses[:AGREE_STEPS], ref, strict=False))
            for v, r in runners.items()
            if v != "eager"
        }
        out["eager_losses_first_last"] = [ref[0], ref[-1]]
        for v in runners:
            if v == "eager":
                continue
            ratios = [e / o for e, o in zip(turns["eager"], turns[v], strict=True)]
            q = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else ratios * 3
            out["paired"][v] = {
                "speedup": statistics.median(ratios),
                "speedup_iqr": [q[0], q[2]],
                "saving_s_per_step": statistics.median(
                    e - o for e, o in zip(turns["eager"], turns[v], strict=True)
                ),
                "turns_faster_fraction": sum(r > 1 for r in ratios) / len(ratios),
            }
    return out


def breakeven(cost: float | None, saving: float | None) -> float | None:
    """Steps after which ``cost`` seconds of compilation are repaid (None: never)."""
    if cost is None or saving is None or saving <= 0:
        return None
    return max(cost, 0.0) / saving


def bench_shape(
    name: str, root: Path, batches_path: Path, args: argparse.Namespace
) -> dict[str, Any]:
    n_layer, d, h = SHAPES[name]
    cache = root / f"inductor_{name}"
    cold = run_worker(name, "compiled_opt", batches_path, cache, args.compile_threads)
    warm = run_worker(name, "compiled_opt", batches_path, cache, args.compile_threads)
    workers = {"cold": cold, "warm": warm}
    variants = list(VARIANTS)
    if args.max_autotune:
        variants.append("max_autotune")
        workers["max_autotune_cold"] = run_worker(
            name, "max_autotune", batches_path, root / f"inductor_{name}_ma", args.compile_threads
        )
    with inductor_cache(cache):
        ss = steady_state(name, variants, np.load(batches_path), args.steps, args.chunk)
    sps, paired = ss["s_per_step"], ss["paired"]
    c, co = paired.get("compiled", {}), paired.get("compiled_opt", {})
    res: dict[str, Any] = {
        "n_layer": n_layer,
        "d_model": d,
        "n_head": h,
        "params_total": params_total(Shape(n_layer, d, h, 4 * d, CONTEXT, VOCAB, True)),
        "eager_s_per_step": sps.get("eager"),
        "compiled_s_per_step": sps.get("compiled"),
        "speedup": c.get("speedup"),
        "speedup_iqr": c.get("speedup_iqr"),
        "saving_s_per_step": c.get("saving_s_per_step"),
        "compile_cold_s": cold.get("compile_model_s"),
        "compile_warm_s": warm.get("compile_model_s"),
    }
    res["breakeven_steps_warm"] = breakeven(res["compile_warm_s"], res["saving_s_per_step"])
    res["breakeven_steps_cold"] = breakeven(res["compile_cold_s"], res["saving_s_per_step"])
    res |= {
        "compiled_opt_s_per_step": sps.get("compiled_opt"),
        "compiled_opt_speedup": co.get("speedup"),
        "compiled_opt_speedup_iqr": co.get("speedup_iqr"),
        "compiled_opt_saving_s_per_step": co.get("saving_s_per_step"),
        "compile_opt_cold_s": cold.get("compile_opt_s"),
        "compile_opt_warm_s": warm.get("compile_opt_s"),
        "compiled_opt_breakeven_steps_warm": breakeven(
            warm.get("compile_total_s"), co.get("saving_s_per_step")
        ),
        "compiled_opt_breakeven_steps_cold": breakeven(
            cold.get("compile_total_s"), co.get("saving_s_per_step")
        ),
        "opt_step_s": ss["opt_step_s"],
        "s_per_step": sps,
        "paired_vs_eager": paired,
        "loss_max_rel_diff": ss.get("loss_max_rel_diff"),
        "eager_loss_first_last": ss.get("eager_losses_first_last"),
        "first_step_in_process_s": ss["first_step_s"],
        "workers": workers,
    }
    errors = ss["errors"] | {f"worker_{k}": w["error"] for k, w in workers.items() if "error" in w}
    if errors:
        res["errors"] = errors
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default=",".join(SHAPES), help="comma-separated subset of SHAPES")
    ap.add_argument("--steps", type=int, default=200, help="timed steps per variant")
    ap.add_argument("--chunk", type=int, default=5, help="steps per turn of a variant")
    ap.add_argument("--compile-threads", type=int, default=1, help="inductor compile workers")
    ap.add_argument("--max-autotune", action="store_true", help="also mode=max-autotune-no-cg..")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--variant", default="compiled_opt", help=argparse.SUPPRESS)
    ap.add_argument("--batches", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args.worker, args.variant, args.batches)
        return
    names = args.models.split(",")
    unknown = [n for n in names if n not in SHAPES]
    if unknown:
        ap.error(f"unknown model(s) {unknown}; choose from {', '.join(SHAPES)}")
    torch.set_num_threads(1)
    torch._inductor.config.compile_threads = args.compile_threads
    wall0 = time.perf_counter()
    root = Path(tempfile.mkdtemp(prefix="bench_compile_"))
    try:
        batches_path = root / "batches.npy"
        make_batches(batches_path)
        out: dict[str, Any] = {
            "machine": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(),
            "torch": torch.__version__,
            "threads": 1,
            "compile_threads": args.compile_threads,
            "batch": BATCH,
            "context": CONTEXT,
            "vocab": VOCAB,
            "steps_timed": args.steps,
            "steps_per_turn": args.chunk,
            "models": {},
        }
        for name in names:
            out["models"][name] = bench_shape(name, root, batches_path, args)
        out["total_wall_s"] = time.perf_counter() - wall0
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
