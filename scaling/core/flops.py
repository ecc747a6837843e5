"""Parameter and FLOP accounting for the decoder-only transformer in ``scaling.model.transformer``.

Pure arithmetic on the shape, no torch. The model has no biases and LayerNorms without bias
(one weight vector of size d_model each), learned absolute positions and an optional tied head,
so every count here is exact; ``tests/test_flops.py`` checks them against the real module.

Named FLOP conventions (training FLOPs per token = forward + backward):

``6N_nonembed``
    6 N with Kaplan's non-embedding N (Kaplan et al. 2020, §2.1 and Table 1: N excludes the
    vocabulary and position embeddings; C ~ 6 N per token).
``6N_total``
    6 N with every parameter counted, embeddings and untied head included.
``6N_attn``
    6 N_c + 12 n_layer n_ctx d_model, with N_c = non-embedding params + the output projection
    (d_model * vocab, the head's matmul, tied or not). The attention term counts QK^T and
    attention-times-V at full context (2 matmuls x 2 FLOPs x n_ctx x d_model, forward, per layer
    and token) times 3 for forward + backward, without crediting the causal mask; this is the
    attention term of Hoffmann et al. 2022, App. F. Porian et al. 2024 (§3) show that counting
    the head and attention matters at small scale.
``hoffmann_appF``
    The full count of Hoffmann et al. 2022, Appendix F (embeddings as a matmul, QKV, logits,
    softmax, reduction, output projection, MLP, final logits), backward = 2 x forward.

The parameter count N that goes with each convention (for fitting L(N, D)) is given by
``params_for_convention``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

CONVENTIONS = ("6N_nonembed", "6N_total", "6N_attn", "hoffmann_appF")


@dataclass(frozen=True)
class Shape:
    """Everything that determines counts. ``d_ff`` defaults to 4 * d_model in configs."""

    n_layer: int
    d_model: int
    n_head: int
    d_ff: int
    context: int
    vocab_size: int
    tie_embeddings: bool = True


def param_groups(s: Shape) -> dict[str, int]:
    """Exact parameter counts by group for ``scaling.model.transformer.Transformer``.

    attention: W_qkv (3 d^2) + W_o (d^2) per layer; mlp: 2 d d_ff per layer; norm: two
    LayerNorm weights per layer plus the final one; head: 0 when tied to the embedding.
    """
    d = s.d_model
    return {
        "embedding": s.vocab_size * d,
        "position": s.context * d,
        "attention": s.n_layer * 4 * d * d,
        "mlp": s.n_layer * 2 * d * s.d_ff,
        "norm": (2 * s.n_layer + 1) * d,
        "head": 0 if s.tie_embeddings else s.vocab_size * d,
    }


def params_total(s: Shape) -> int:
    """All trainable parameters (a tied head counted once)."""
    return sum(param_groups(s).values())


def params_nonembed(s: Shape) -> int:
    """Kaplan et al. 2020 (§2.1) non-embedding parameters: all but embeddings and the head."""
    g = param_groups(s)
    return g["attention"] + g["mlp"] + g["norm"]


def params_compute(s: Shape) -> int:
    """Non-embedding parameters plus the output projection, the parameters of every matmul.

    This is Porian et al. 2024's 'standard' count (§3.1: the last layer's FLOPs counted).
    """
    return params_nonembed(s) + s.vocab_size * s.d_model


def attention_flops_per_token(s: Shape) -> float:
    """12 n_layer n_ctx d_model: QK^T and AV, forward+backward (Hoffmann et al. 2022, App. F)."""
    return 12.0 * s.n_layer * s.context * s.d_model


def hoffmann_appf_flops_per_token(s: Shape) -> float:
    """Training FLOPs per token by Hoffmann et al. 2022, Appendix F (forward x 3).

    Per sequence of length T, forward: embeddings 2 T V d; per layer QKV 6 T d k, logits
    2 T^2 k, softmax 3 H T^2, reduction 2 T^2 k, projection 2 T k d (k = key_size x heads =
    d_model here), MLP 4 T d d_ff; final logits 2 T d V. Backward = 2 x forward.
    """
    T, d, V, H, L = s.context, s.d_model, s.vocab_size, s.n_head, s.n_layer
    k = d
    attn = 6 * T * d * k + 2 * T * T * k + 3 * H * T * T + 2 * T * T * k + 2 * T * k * d
    mlp = 4 * T * d * s.d_ff
    forward = 2 * T * V * d + L * (attn + mlp) + 2 * T * d * V
    return 3.0 * forward / T


def flops_per_token(s: Shape, convention: str) -> float:
    """Training FLOPs per token under a named convention (see module docstring)."""
    if convention == "6N_nonembed":
        return 6.0 * params_nonembed(s)
    if convention == "6N_total":
        return 6.0 * params_total(s)
    if convention == "6N_attn":
        return 6.0 * params_compute(s) + attention_flops_per_token(s)
    if convention == "hoffmann_appF":
        return hoffmann_appf_flops_per_token(s)
    raise ValueError(f"unknown FLOP convention {convention!r}; known: {', '.join(CONVENTIONS)}")


def params_for_convention(s: Shape, convention: str) -> int:
    """The N that goes with a convention when fitting L(N, D) or reading C ~ 6 N D."""
    if convention == "6N_nonembed":
        return params_nonembed(s)
    if convention == "6N_attn":
        return params_compute(s)
    if convention in ("6N_total", "hoffmann_appF"):
        return params_total(s)
    raise ValueError(f"unknown FLOP convention {convention!r}; known: {', '.join(CONVENTIONS)}")


def flops_all_conventions(s: Shape, tokens: int) -> dict[str, float]:
    """Training FLOPs of ``tokens`` tokens under every convention."""
    return {c: flops_per_token(s, c) * tokens for c in CONVENTIONS}


@dataclass(frozen=True)
class BudgetPlan:
    """How a FLOP budget becomes optimizer steps for one model."""

    target_flops: float
    convention: str
    flops_per_token: float
    tokens_per_step: int
    steps: int
    tokens: int
    flops: float  # achieved, under ``convention``

    @property
    def relative_error(self) -> float:
        """(achieved - target) / target: at most half a step's FLOPs relative to the budget."""
        return (self.flops - self.target_flops) / self.target_flops


def steps_for_budget(target_flops: float, flops_per_token_: float, tokens_per_step: int) -> int:
    """Whole optimizer steps closest to the budget: round(C / (f * tokens_per_step))."""
    return math.floor(target_flops / (flops_per_token_ * tokens_per_step) + 0.5)


def plan_budget(s: Shape, target_flops: float, convention: str, tokens_per_step: int) -> BudgetPlan:
    """Tokens and steps for a target budget, rounded to whole steps (may be 0: caller checks)."""
    fpt = flops_per_token(s, convention)
    steps = steps_for_budget(target_flops, fpt, tokens_per_step)
    tokens = steps * tokens_per_step
    return BudgetPlan(
        target_flops=float(target_flops),
        convention=convention,
        flops_per_token=fpt,
        tokens_per_step=tokens_per_step,
        steps=steps,
        tokens=tokens,
        flops=fpt * tokens,
    )
