"""Compute versus data as levers: what a doubling of each buys, priced. No torch.

At compute C (under the runs' recorded FLOP convention, ``scaling.fit.allocation``) and a pool
of U unique tokens, the best reachable loss is

    L*(C, U) = min over N of L(N, D'(C / (k(N) N), U)),

with D' the effective data of repeated tokens, D' = U + U R_D* (1 - exp(-R_D / R_D*)),
R_D = D/U - 1 (Muennighoff et al. 2023, §3.1 eq. 5), computed by the fit layer's own
``scaling.fit.constrained.effective_data`` with its one published constant,
``MUENNIGHOFF_2023.R_D_star`` = 15.387756 (15.4 as rounded in the paper). A lever is a finite
change, not a linearisation: doubling compute lowers the loss by L*(C, U) - L*(2C, U) and costs
C x ($ per FLOP); doubling the unique data lowers it by L*(C, U) - L*(C, 2U) and costs
U x ($ per token). Per dollar, the larger of the two is the binding input, and it is called only
when the 95% interval of their ratio (over the law's bootstrap refits) excludes 1. Each gain
divided by ln 2 is the derivative d loss / d log C (or d log U) averaged over the doubling.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from scaling.analysis.estimate import Estimate, Result, Undetermined, from_samples
from scaling.fit.allocation import FlopModel, compute_optimal
from scaling.fit.constrained import MUENNIGHOFF_2023, effective_data

# Muennighoff et al. 2023, §3.1: R_D* fitted on their 182 runs (the fit layer's constant)
R_D_STAR = MUENNIGHOFF_2023.R_D_star


@dataclass(frozen=True)
class _Repeated:
    """A law evaluated at the effective data of a pool of ``unique`` tokens."""

    law: Any
    unique: float
    r_d_star: float

    def predict(self, N: Any, D: Any) -> Any:
        return self.law.predict(N, effective_data(D, self.unique, self.r_d_star))


def best_loss(
    law: Any, flops: float, unique: float, fm: FlopModel, r_d_star: float = R_D_STAR
) -> float:
    """L*(C, U): the best loss reachable with compute C and U unique tokens."""
    return compute_optimal(_Repeated(law, unique, r_d_star), flops, fm).loss


def doubling_gains(
    law: Any, flops: float, unique: float, fm: FlopModel, r_d_star: float = R_D_STAR
) -> tuple[float, float]:
    """(loss lowered by 2x compute, loss lowered by 2x unique data) at (C, U)."""
    base = best_loss(law, flops, unique, fm, r_d_star)
    return (
        base - best_loss(law, 2 * flops, unique, fm, r_d_star),
        base - best_loss(law, flops, 2 * unique, fm, r_d_star),
    )


@dataclass(frozen=True)
class Levers:
    """What a doubling of compute and of unique data buy at (C, U), and what each costs."""

    flops: float
    unique_tokens: float
    compute_cost_dollars: float
    data_cost_dollars: float
    compute_gain: Result  # nats lowered by doubling compute
    data_gain: Result  # nats lowered by doubling the unique data
    ratio: Result  # (data gain per $) / (compute gain per $)
    binds: str  # "data", "compute" or "undetermined"

    @property
    def d_loss_d_log_compute(self) -> Result:
        """-d L* / d ln C averaged over the doubling: the compute gain / ln 2."""
        g = self.compute_gain
        return g.scaled(1 / math.log(2), "nats per e-fold") if isinstance(g, Estimate) else g

    @property
    def d_loss_d_log_unique(self) -> Result:
        """-d L* / d ln U averaged over the doubling: the data gain / ln 2."""
        g = self.data_gain
        return g.scaled(1 / math.log(2), "nats per e-fold") if isinstance(g, Estimate) else g

    def to_dict(self) -> dict[str, Any]:
        return {
            "d_loss_d_log_compute": self.d_loss_d_log_compute.to_dict(),
            "d_loss_d_log_unique": self.d_loss_d_log_unique.to_dict(),
            "flops": self.flops,
            "unique_tokens": self.unique_tokens,
            "compute_cost_dollars": self.compute_cost_dollars,
            "data_cost_dollars": self.data_cost_dollars,
            "compute_gain": self.compute_gain.to_dict(),
            "data_gain": self.data_gain.to_dict(),
            "ratio_data_to_compute_per_dollar": self.ratio.to_dict(),
            "binds": self.binds,
        }


def levers(
    law: Any,
    flops: float,
    unique_tokens: float,
    dollars_per_flop: float,
    dollars_per_token: float,
    fm: FlopModel,
    *,
    bootstrap_laws: list[Any] | None = None,
    r_d_star: float = R_D_STAR,
) -> Levers:
    """Both levers at (C, U) for a fitted law, intervals over its bootstrap refits."""
    cost_c = flops * dollars_per_flop
    cost_u = unique_tokens * dollars_per_token
    g_c, g_u = doubling_gains(law, flops, unique_tokens, fm, r_d_star)
    boot = np.array(
        [doubling_gains(b, flops, unique_tokens, fm, r_d_star) for b in bootstrap_laws or []]
    ).reshape(-1, 2)

    def ratio(gc: Any, gu: Any) -> Any:
        with np.errstate(divide="ignore", invalid="ignore"):
            return (np.asarray(gu) / cost_u) / (np.asarray(gc) / cost_c)

    r_point = float(ratio(g_c, g_u)) if cost_u > 0 and g_c > 0 else math.nan
    r_samples = ratio(boot[:, 0], boot[:, 1]) if cost_u > 0 else np.array([])
    compute_gain = from_samples(g_c, boot[:, 0], unit="nats", what="the compute lever")
    data_gain = from_samples(g_u, boot[:, 1], unit="nats", what="the data lever")
    r: Result = (
        from_samples(r_point, r_samples, what="the per-dollar ratio")
        if cost_u > 0
        else Undetermined("data is free in this cost model")
    )
    binds = "undetermined"
    if isinstance(r, Estimate):
        binds = "data" if r.lo > 1 else ("compute" if r.hi < 1 else "undetermined")
    return Levers(flops, unique_tokens, cost_c, cost_u, compute_gain, data_gain, r, binds)
