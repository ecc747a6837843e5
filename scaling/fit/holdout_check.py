"""``holdout_check``: fit a law without its largest scale and report the errors there.

The dispatcher over the three laws; the hold-out mechanics are in ``scaling.fit.holdout``
(which imports no fit module, so the fits can call it without an import cycle).
"""

from __future__ import annotations

from typing import Any

from scaling.core.errors import UserError
from scaling.fit._common import ArrayLike, positive_array, same_length
from scaling.fit.holdout import (
    HoldoutResult,
    holdout_chinchilla,
    holdout_data_constrained,
    holdout_isoflop,
)


def holdout_check(
    law: str,
    *,
    params: ArrayLike,
    loss: ArrayLike,
    tokens: ArrayLike | None = None,
    flops: ArrayLike | None = None,
    unique_tokens: ArrayLike | None = None,
    budget: ArrayLike | None = None,
    **fit_kw: Any,
) -> HoldoutResult:
    """Fit ``law`` without its largest scale and report relative prediction errors there.

    ``law``: "chinchilla" or "data_constrained" (the largest model N is held out; its loss is
    predicted) or "isoflop" (the largest FLOP budget is held out; its N_opt and minimum loss
    are predicted). ``fit_kw`` go to the fit function.
    """
    N = positive_array("params", params)
    L = positive_array("loss", loss)
    if law == "chinchilla":
        if tokens is None:
            raise UserError("holdout_check: law 'chinchilla' needs tokens")
        D = positive_array("tokens", tokens)
        same_length(params=N, tokens=D, loss=L)
        from scaling.fit.parametric import fit_chinchilla

        return holdout_chinchilla(N, D, L, refit=fit_chinchilla, **fit_kw)
    if law == "data_constrained":
        if tokens is None or unique_tokens is None:
            raise UserError("holdout_check: law 'data_constrained' needs tokens and unique_tokens")
        D = positive_array("tokens", tokens)
        U = positive_array("unique_tokens", unique_tokens)
        same_length(params=N, tokens=D, unique_tokens=U, loss=L)
        from scaling.fit.constrained import fit_data_constrained

        return holdout_data_constrained(N, D, U, L, refit=fit_data_constrained, **fit_kw)
    if law == "isoflop":
        from scaling.fit.isoflop import fit_isoflop, group_budgets

        D = None if tokens is None else positive_array("tokens", tokens)
        if flops is None:
            if D is None:
                raise UserError("holdout_check: law 'isoflop' needs flops (or tokens for 6ND)")
            flops = 6.0 * N * D
        C_run = positive_array("flops", flops)
        same_length(flops=C_run, params=N, loss=L, tokens=D)
        full = fit_isoflop(C_run, N, L, D, budget=budget, **fit_kw)
        groups, _ = group_budgets(C_run, budget, fit_kw.get("rtol", 1e-6))
        return holdout_isoflop(
            full, C_run, N, L, D, budget=budget, refit=fit_isoflop, groups=groups, **fit_kw
        )
    raise UserError(
        f"holdout_check: law must be one of 'chinchilla', 'isoflop', 'data_constrained'; "
        f"got {law!r}"
    )
