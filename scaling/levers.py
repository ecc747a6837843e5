"""Compute versus data as levers: the loss one more dollar buys through each. No torch.

At compute C (FLOPs, C = 6ND as in the closed forms of Hoffmann et al. 2022) and a pool of U
unique tokens, the best reachable loss is

    L*(C, U) = min over N of L(N, D'(C / 6N, U)),

with D' the effective data of repeated tokens, D' = U + U R_D* (1 - exp(-R_D / R_D*)),
R_D = D/U - 1 (Muennighoff et al. 2023, §3.1, eq. 5). A dollar spent on compute raises C by
1 / ($ per FLOP); a dollar spent on data raises U by 1 / ($ per token). The lever with the larger
loss reduction per dollar is the binding input. When U is far above the compute-optimal token
count, data buys nothing and compute binds; past the data wall, compute buys little.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

R_D_STAR_MUENNIGHOFF = 15.387  # Muennighoff et al. 2023, §4 (fitted R_D*), datablations README


def effective_tokens(tokens: float, unique: float, r_d_star: float) -> float:
    """D' of Muennighoff et al. 2023, eq. 5 (fresh data counts fully; repeats decay)."""
    if tokens <= unique:
        return tokens
    r_d = tokens / unique - 1.0
    return unique + unique * r_d_star * (1.0 - math.exp(-r_d / r_d_star))


def best_loss(law: Any, flops: float, unique: float, r_d_star: float) -> tuple[float, float]:
    """(L*(C, U), N*) by a golden-section search over log N."""

    def loss_at(log_n: float) -> float:
        n = math.exp(log_n)
        d = flops / (6.0 * n)
        return float(law.predict(n, effective_tokens(d, unique, r_d_star)))

    lo, hi = math.log(1e2), math.log(max(1e3, flops / 6.0))
    g = (math.sqrt(5) - 1) / 2
    a, b = hi - g * (hi - lo), lo + g * (hi - lo)
    fa, fb = loss_at(a), loss_at(b)
    for _ in range(120):
        if fa < fb:
            hi, b, fb = b, a, fa
            a = hi - g * (hi - lo)
            fa = loss_at(a)
        else:
            lo, a, fa = a, b, fb
            b = lo + g * (hi - lo)
            fb = loss_at(b)
    x = 0.5 * (lo + hi)
    return loss_at(x), math.exp(x)


@dataclass(frozen=True)
class Levers:
    """Loss reduction per million dollars through compute and through data, at (C, U)."""

    flops: float
    unique_tokens: float
    dollars_per_flop: float
    dollars_per_token: float
    loss: float
    n_opt: float
    compute_gain_per_million: float
    data_gain_per_million: float
    binds: str
    intervals: dict[str, list[float]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _gains(
    law: Any,
    flops: float,
    unique: float,
    usd_flop: float,
    usd_token: float,
    r_d_star: float,
    step: float = 0.01,
) -> tuple[float, float, float, float]:
    base, n_opt = best_loss(law, flops, unique, r_d_star)
    more_c, _ = best_loss(law, flops * (1 + step), unique, r_d_star)
    more_u, _ = best_loss(law, flops, unique * (1 + step), r_d_star)
    per_c = (base - more_c) / (step * flops * usd_flop) * 1e6
    per_u = (base - more_u) / (step * unique * usd_token) * 1e6 if usd_token > 0 else math.inf
    return base, n_opt, per_c, per_u


def levers(
    law: Any,
    flops: float,
    unique_tokens: float,
    dollars_per_flop: float,
    dollars_per_token: float,
    *,
    r_d_star: float = R_D_STAR_MUENNIGHOFF,
    bootstrap_laws: list[Any] | None = None,
) -> Levers:
    """Both levers at (C, U) for a fitted law; intervals over the law's bootstrap refits."""
    base, n_opt, per_c, per_u = _gains(
        law, flops, unique_tokens, dollars_per_flop, dollars_per_token, r_d_star
    )
    intervals: dict[str, list[float]] = {}
    if bootstrap_laws:
        samples = [
            _gains(b, flops, unique_tokens, dollars_per_flop, dollars_per_token, r_d_star)
            for b in bootstrap_laws
        ]
        for name, i in (
            ("compute_gain_per_million", 2),
            ("data_gain_per_million", 3),
            ("ratio_data_to_compute", None),
        ):
            vals = [
                s[3] / s[2] if i is None and s[2] > 0 else (s[i] if i is not None else math.nan)
                for s in samples
            ]
            vals = [v for v in vals if math.isfinite(v)]
            if len(vals) >= 10:
                intervals[name] = [
                    float(np.percentile(vals, 2.5)),
                    float(np.percentile(vals, 97.5)),
                ]
    return Levers(
        flops,
        unique_tokens,
        dollars_per_flop,
        dollars_per_token,
        base,
        n_opt,
        per_c,
        per_u,
        "data" if per_u > per_c else "compute",
        intervals,
    )
