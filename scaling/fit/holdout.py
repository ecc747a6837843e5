"""Hold-out checks: refit without the largest scale and predict it.

Extrapolation to the largest model or budget is what a scaling law is for, so the check leaves
it out: the parametric laws are refitted without the runs of the largest model N and predict
their loss; approach 2 is refitted without the largest FLOP budget and predicts that budget's
N_opt and minimum loss (the latter from a pure power law in C, the form of Kaplan et al.
2020's L(C_min)).
Errors are relative: (predicted - observed) / observed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from scaling.core.errors import UserError
from scaling.fit._common import ArrayLike, jsonable


@dataclass(frozen=True)
class HoldoutResult:
    """Relative prediction errors on the held-out largest scale.

    ``loss_rel_errors`` holds one signed error per held-out point (for approach 2: one, the
    budget's minimum loss). ``n_opt_rel_error`` is set for approach 2 only. ``train_fit`` is the
    fit on the remaining points.
    """

    law: str
    held_out: str
    n_train: int
    n_test: int
    loss_rel_errors: np.ndarray = field(compare=False, repr=False)
    n_opt_rel_error: float | None = None
    train_fit: Any = field(default=None, compare=False, repr=False)
    note: str | None = None

    @property
    def mean_abs_loss_rel_error(self) -> float:
        e = np.abs(self.loss_rel_errors)
        return float(np.nanmean(e)) if e.size and np.isfinite(e).any() else float("nan")

    @property
    def max_abs_loss_rel_error(self) -> float:
        e = np.abs(self.loss_rel_errors)
        return float(np.nanmax(e)) if e.size and np.isfinite(e).any() else float("nan")

    def to_dict(self) -> dict[str, Any]:
        train = self.train_fit.to_dict() if hasattr(self.train_fit, "to_dict") else None
        if isinstance(train, dict):  # keep the nested fit small: parameters and fit quality only
            drop = {"residuals_log", "residuals", "minima", "holdout"}
            train = {k: v for k, v in train.items() if k not in drop}
        return jsonable(
            {
                "law": self.law,
                "held_out": self.held_out,
                "n_train": self.n_train,
                "n_test": self.n_test,
                "mean_abs_loss_rel_error": self.mean_abs_loss_rel_error,
                "max_abs_loss_rel_error": self.max_abs_loss_rel_error,
                "loss_rel_errors": self.loss_rel_errors,
                "n_opt_rel_error": self.n_opt_rel_error,
                "note": self.note,
                "train_fit": train,
            }
        )


def _largest_model_split(N: np.ndarray, rtol: float = 1e-6) -> np.ndarray:
    """Boolean mask of the runs of the largest model (N within ``rtol`` of the maximum; 1e-6
    absorbs the rounding of parameter counts recorded as decimal text, as for FLOP budgets in
    ``scaling.fit.isoflop.budgets``)."""
    threshold = N.max() * (1 - rtol)
    return threshold <= N


def holdout_chinchilla(
    N: np.ndarray,
    D: np.ndarray,
    L: np.ndarray,
    w: np.ndarray | None = None,
    *,
    refit: Callable[..., Any],
    **fit_kw: Any,
) -> HoldoutResult:
    """Refit the Chinchilla law (``refit`` = ``fit_chinchilla``) without the largest model and
    predict its loss."""
    test = _largest_model_split(N)
    train = ~test
    if train.sum() < 5:  # the law's five parameters (Hoffmann et al. 2022, eq. 2)
        raise UserError("holdout: fewer than 5 points remain without the largest model")
    wt = None if w is None else w[train]
    fit = refit(N[train], D[train], L[train], weights=wt, **fit_kw)
    pred = np.asarray(fit.predict(N[test], D[test]))
    return HoldoutResult(
        law="chinchilla",
        held_out=f"largest model N={N.max():.4g} ({int(test.sum())} points)",
        n_train=int(train.sum()),
        n_test=int(test.sum()),
        loss_rel_errors=(pred - L[test]) / L[test],
        train_fit=fit,
    )


def holdout_data_constrained(
    N: np.ndarray,
    D: np.ndarray,
    U: np.ndarray,
    L: np.ndarray,
    *,
    refit: Callable[..., Any],
    **fit_kw: Any,
) -> HoldoutResult:
    """Refit the data-constrained law (``refit`` = ``fit_data_constrained``) without the
    largest model and predict its loss."""
    test = _largest_model_split(N)
    train = ~test
    if train.sum() < 2:
        raise UserError("holdout: fewer than 2 points remain without the largest model")
    fit = refit(N[train], D[train], U[train], L[train], **fit_kw)
    pred = np.asarray(fit.predict(N[test], D[test], U[test]))
    return HoldoutResult(
        law="data_constrained",
        held_out=f"largest model N={N.max():.4g} ({int(test.sum())} points)",
        n_train=int(train.sum()),
        n_test=int(test.sum()),
        loss_rel_errors=(pred - L[test]) / L[test],
        train_fit=fit,
    )


def holdout_isoflop(
    full: Any,  # an IsoFlopFit (not imported: the fits import this module)
    C_run: np.ndarray,
    N: np.ndarray,
    L: np.ndarray,
    D: np.ndarray | None,
    *,
    budget: ArrayLike | None = None,
    refit: Callable[..., Any],
    groups: np.ndarray,
    **fit_kw: Any,
) -> HoldoutResult:
    """Refit approach 2 (``refit`` = ``fit_isoflop``) without the largest budget (``groups``:
    each run's budget index, sorted by C); compare predicted and observed N_opt and loss."""
    last = len(full.minima) - 1
    test = groups == last
    train = ~test
    lab = None if budget is None else np.asarray(budget).reshape(-1)[train]
    try:
        fit = refit(
            C_run[train], N[train], L[train], None if D is None else D[train], budget=lab, **fit_kw
        )
    except UserError as exc:
        raise UserError(f"holdout: without the largest budget, {exc}") from None
    target = full.minima[last]
    c = float(target.flops)
    note = None
    if target.interior:
        n_err = float((fit.n_opt_law.predict(c) - target.n_opt) / target.n_opt)
        l_err = np.array([(fit.loss_opt_law.predict(c) - target.loss_opt) / target.loss_opt])
    else:
        n_err, l_err = float("nan"), np.array([np.nan])
        note = f"the held-out budget has no interior minimum ({target.reason})"
    return HoldoutResult(
        law="isoflop",
        held_out=f"largest budget C={c:.4g} ({int(test.sum())} runs)",
        n_train=int(train.sum()),
        n_test=int(test.sum()),
        loss_rel_errors=l_err,
        n_opt_rel_error=n_err,
        train_fit=fit,
        note=note,
    )
