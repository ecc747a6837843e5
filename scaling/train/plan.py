"""A run's compute plan without torch: its model shape, the steps and tokens its FLOP budget
buys, and whether a sweep's grid window trains it at all. ``make_plan`` computes it once; the
runner hands the ``RunPlan`` down to the trainer, and ``scaling plan``/``status`` show it.

The grid window follows Hoffmann et al. (2022, §3.2, Approach 2): each isoFLOP profile is
sampled with model sizes around that budget's optimum rather than every size at every budget.
A plain Hydra product grid does the same with ``grid.min_tokens_per_param`` and
``grid.max_tokens_per_param``: a point whose tokens per parameter D/N (N under
``budget.convention``) falls outside the window is skipped, which drops the far corners of the
grid (the smallest model at the largest budget is the most expensive run of a CPU sweep and
lies far from every optimum).
"""

from __future__ import annotations

from dataclasses import dataclass

from scaling.core import flops
from scaling.core.config import RunConfig
from scaling.core.errors import UserError
from scaling.tokenizers.base import BYTE_VOCAB


def model_shape(run: RunConfig, vocab_size: int) -> flops.Shape:
    m = run.model
    return flops.Shape(
        m.n_layer, m.d_model, m.n_head, int(m.d_ff), m.context, vocab_size, m.tie_embeddings
    )


def plan_run(run: RunConfig, vocab_size: int) -> flops.BudgetPlan:
    """Steps and tokens for the run's budget; a budget below one step is a UserError."""
    shape = model_shape(run, vocab_size)
    tokens_per_step = run.optim.batch_size * run.model.context
    plan = flops.plan_budget(shape, run.budget.flops, run.budget.convention, tokens_per_step)
    if plan.steps < 1:
        one_step = plan.flops_per_token * tokens_per_step
        raise UserError(
            f"budget.flops={run.budget.flops:.3g} buys less than one optimizer step of model "
            f"{run.model.name!r} ({one_step:.3g} FLOPs per step under {run.budget.convention}); "
            f"raise budget.flops to at least {one_step:.3g} or use a smaller model or batch"
        )
    return plan


def planned_vocab(run: RunConfig) -> int:
    """The vocabulary size a run is planned with: 257 bytes, the BPE target size, or the
    pretrained tokenizer's own size (loaded by name)."""
    if run.tokenizer.kind == "byte":
        return BYTE_VOCAB
    if run.tokenizer.kind == "pretrained":
        from scaling.data.tokenizer import build_tokenizer

        tok = build_tokenizer(
            "pretrained", name=run.tokenizer.name, revision=run.tokenizer.revision
        )
        return tok.vocab_size
    return int(run.tokenizer.vocab_size)


def tokens_per_param(run: RunConfig, vocab_size: int) -> float:
    """D/N of the run: planned training tokens over parameters under ``budget.convention``."""
    shape = model_shape(run, vocab_size)
    params = flops.params_for_convention(shape, run.budget.convention)
    return plan_run(run, vocab_size).tokens / params


def outside_window(run: RunConfig, vocab_size: int) -> str | None:
    """Why the grid window skips this run, or None when it is trained."""
    lo, hi = run.grid.min_tokens_per_param, run.grid.max_tokens_per_param
    if lo is None and hi is None:
        return None
    ratio = tokens_per_param(run, vocab_size)
    if lo is not None and ratio < lo:
        return f"{ratio:.3g} tokens/param < grid.min_tokens_per_param={lo:g}"
    if hi is not None and ratio > hi:
        return f"{ratio:.3g} tokens/param > grid.max_tokens_per_param={hi:g}"
    return None


@dataclass(frozen=True)
class RunPlan:
    """Everything a run's config decides before training: shape, steps, tokens, peak LR, window."""

    shape: flops.Shape
    budget: flops.BudgetPlan
    params: int  # N under budget.convention
    peak_lr: float
    skip_reason: str | None  # why the grid window skips the run, None when it is trained

    @property
    def vocab_size(self) -> int:
        return self.shape.vocab_size

    @property
    def tokens_per_param(self) -> float:
        return self.budget.tokens / self.params


def make_plan(run: RunConfig, vocab_size: int | None = None) -> RunPlan:
    """The run's plan at ``vocab_size`` (default ``planned_vocab(run)``); UserError below 1 step."""
    vocab = planned_vocab(run) if vocab_size is None else vocab_size
    shape = model_shape(run, vocab)
    return RunPlan(
        shape=shape,
        budget=plan_run(run, vocab),
        params=flops.params_for_convention(shape, run.budget.convention),
        peak_lr=run.optim.peak_lr(run.model.d_model),
        skip_reason=outside_window(run, vocab),
    )


def pack_key(run: RunConfig, shape: flops.Shape) -> tuple[object, ...]:
    """What runs must share to train as one pack (``train.packed``): the model shape (and so
    the vocabulary), the batch, the optimizer's constants, device, precision and compilation.
    Seeds, data, budgets (steps), peak and schedule of the learning rate may differ."""
    o, rt = run.optim, run.runtime
    return (
        shape,
        o.batch_size,
        o.beta1,
        o.beta2,
        o.eps,
        o.weight_decay,
        o.grad_clip,
        rt.device,
        rt.precision,
        rt.compile,
        rt.threads,
    )
