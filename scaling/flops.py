"""The FLOP and parameter conventions (``scaling.flops.flops_per_token(shape, "6N_attn")``): the
public names of ``scaling.core.flops``, where they are defined. No torch, no Hydra."""

from scaling.core.flops import (
    CONVENTIONS,
    BudgetPlan,
    Shape,
    attention_flops_per_token,
    flops_all_conventions,
    flops_per_token,
    hoffmann_appf_flops_per_token,
    param_groups,
    params_compute,
    params_for_convention,
    params_nonembed,
    params_total,
    plan_budget,
    steps_for_budget,
)

__all__ = [
    "CONVENTIONS",
    "BudgetPlan",
    "Shape",
    "attention_flops_per_token",
    "flops_all_conventions",
    "flops_per_token",
    "hoffmann_appf_flops_per_token",
    "param_groups",
    "params_compute",
    "params_for_convention",
    "params_nonembed",
    "params_total",
    "plan_budget",
    "steps_for_budget",
]
