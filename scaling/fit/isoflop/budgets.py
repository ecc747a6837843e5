"""Runs grouped into FLOP budgets (the isoFLOP curves of Hoffmann et al. 2022, §3.2)."""

from __future__ import annotations

import math

import numpy as np

from scaling.core.errors import UserError
from scaling.fit._common import ArrayLike


def group_budgets(
    flops: np.ndarray, budget: ArrayLike | None = None, rtol: float = 1e-6
) -> tuple[np.ndarray, np.ndarray]:
    """(group index per run, budget C per group), groups sorted by C.

    Without ``budget``, runs whose FLOPs agree within relative tolerance ``rtol`` (consecutive
    gaps in sorted log FLOPs) share a budget whose C is their geometric mean. With ``budget``
    (one label per run), runs are grouped by label; C is the label when numeric, else the
    geometric mean of the group's FLOPs. The default ``rtol`` 1e-6 (callers' default too)
    only absorbs the rounding of FLOPs recorded as decimal text; budgets of an isoFLOP sweep
    differ by factors (Hoffmann et al. 2022 §3.2: 9 budgets from 6e18 to 3e21).
    """
    n = len(flops)
    if budget is None:
        order = np.argsort(flops, kind="stable")
        lf = np.log(flops[order])
        new = np.r_[True, np.diff(lf) > math.log1p(rtol)]
        grp_sorted = np.cumsum(new) - 1
        groups = np.empty(n, dtype=int)
        groups[order] = grp_sorted
        values = np.array(
            [math.exp(float(lf[grp_sorted == g].mean())) for g in range(grp_sorted[-1] + 1)]
        )
        return groups, values
    labels = np.asarray(budget).reshape(-1)
    if len(labels) != n:
        raise UserError(f"budget: expected {n} labels (one per run), got {len(labels)}")
    uniq, inv = np.unique(labels, return_inverse=True)
    try:
        vals = uniq.astype(float)
        if not (np.isfinite(vals).all() and (vals > 0).all()):
            raise ValueError
    except (TypeError, ValueError):
        vals = np.array([math.exp(float(np.log(flops[inv == g]).mean())) for g in range(len(uniq))])
    order = np.argsort(vals, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return rank[inv], vals[order]
