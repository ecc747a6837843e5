"""``fit_isoflop``: Chinchilla approach 2 end to end, and the measured choice of its default.

Hoffmann et al. 2022, §3.2: for each fixed FLOP budget, fit a profile to the final loss as a
function of log N, take its minimum as the compute-optimal model size N_opt (and the matching
token count D_opt), then fit power laws N_opt ∝ C^a and D_opt ∝ C^b across budgets. The
budgets are grouped in ``scaling.fit.isoflop.budgets``, profiled in ``profiles`` (and
``varpro``), and with ``bootstrap`` > 0 the laws are weighted as in ``bootstrap`` (Porian et al.
2024).

Default method (``DEFAULT_METHOD = "spline"``), measured with scripts/bench_isoflop_methods.py
(--bootstrap 200 --synthetic-bootstrap 50). Porian et al. 2024's 15 configurations, max (mean)
|a - published a|, published a inside our 95% interval, our a inside their 95% CI:

- quadratic: bootstrap 0: 0.073 (0.025), 13/15, 7/15; bootstrap 200: 0.051 (0.021), 9/15, 7/15.
- spline:    bootstrap 0: 0.0072 (0.0027), 15/15, 15/15; bootstrap 200: 0.0066 (0.0018), 15/15,
  15/15.
- varpro:    bootstrap 0: 0.46 (0.22) on 12 configurations, 3 with < 2 interior budgets; the
  one surface misfits Porian's wide sweeps (runs far from the optimum dominate the squared
  residuals), so its minima fall outside the sampled ranges.

Synthetic Chinchilla surfaces (7 budgets 1e18-1e22, 9 sizes each; centred, constant
off-centre, off-centre drifting with C, alpha != beta), max |a - true a| noise-free / with loss
noise sd 0.005 (5 seeds), truth inside the 50-resample interval: quadratic 0.0062 / 0.011,
34/35; spline 0.0008 / 0.035, 34/35; varpro < 1e-6 / 0.0068, 35/35. Seconds for the 15 Porian
configurations with 200 resamples: quadratic 4, spline 8, varpro 20 (2 CPUs, shared).

The spline is the default: it is the only method that reproduces every published exponent
(within 0.01, with the published value inside every interval). VarPro is the method of choice
when the runs follow one E + A N^-alpha + B D^-beta surface (exact on such data, and the least
noisy); the spline interpolates noise, which costs it on small noisy ladders.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, NamedTuple

import numpy as np

from scaling.core.errors import UserError
from scaling.fit._common import (
    ArrayLike,
    check_ci,
    check_count,
    percentile_interval,
    positive_array,
    r2_score,
    same_length,
)
from scaling.fit.isoflop.bootstrap import _bootstrap, _sigmas, _weighted_refits
from scaling.fit.isoflop.budgets import group_budgets
from scaling.fit.isoflop.profiles import _minima
from scaling.fit.isoflop.results import IsoFlopFit, IsoFlopMinimum
from scaling.fit.isoflop.varpro import VarProSurface, _fit_surface
from scaling.fit.powerlaw import PowerLaw, fit_power_law

METHODS = ("quadratic", "spline", "varpro")
DEFAULT_METHOD = "spline"  # measured: see the module docstring


class _Runs(NamedTuple):
    """The checked runs and their budgets: FLOPs per run, N, L, D (None without tokens), the
    number of runs, each run's budget index and each budget's C."""

    C_run: np.ndarray
    N: np.ndarray
    L: np.ndarray
    D: np.ndarray | None
    n: int
    groups: np.ndarray
    C: np.ndarray


def fit_isoflop(
    flops: ArrayLike,
    params: ArrayLike,
    loss: ArrayLike,
    tokens: ArrayLike | None = None,
    *,
    budget: ArrayLike | None = None,
    method: str = DEFAULT_METHOD,
    bootstrap: int = 0,
    seed: int = 0,
    ci: float = 0.95,
    rtol: float = 1e-6,
    min_points: int = 3,
    exclude_outside: bool = True,
    holdout: str | None = None,
) -> IsoFlopFit:
    """Approach 2 of Hoffmann et al. 2022 (§3.2): isoFLOP minima, then N_opt ∝ C^a, D_opt ∝ C^b.

    Runs are grouped into budgets by ``budget`` labels or, without them, by FLOPs equal within
    relative tolerance ``rtol``. Each budget's loss is profiled against log N (``method``:
    "quadratic" parabola, "spline" = Akima spline of log loss as in Porian et al. 2024, or
    "varpro" = minima of the surface E + A N^-alpha + B D^-beta fitted to all runs by Variable
    Projection, arXiv:2603.22339); budgets with fewer than ``min_points`` runs or a minimum that
    fails the interior gate are flagged (``interior=False``, with a reason) and excluded from
    the power laws (``exclude_outside=False`` keeps the extrapolated vertex of an outside-range
    budget; each minimum's ``used`` says whether it entered the laws). D_opt is interpolated
    from ``tokens`` when given, else C / (6 N_opt). ``bootstrap`` = 0: unweighted power laws,
    exponent intervals from the regression standard error (Student t). ``bootstrap`` > 0: runs
    are resampled with replacement within each budget and the minima refitted; the laws are
    weighted by 1/sigma^2 with sigma the bootstrap standard deviation of log N_opt (log D_opt
    for D_opt) per budget, and the exponent intervals are percentiles, at coverage ``ci``, of
    the weighted refits (Porian et al. 2024, analysis.py ``bootstrap_weighted``); resamples
    without an exponent are counted in ``n_bootstrap_failed``. ``holdout="largest"`` also
    refits without the largest budget and reports the relative error of the predicted N_opt
    and minimum loss there.
    """
    runs, ci, bootstrap = _prepare(
        flops, params, loss, tokens, budget, rtol, method, holdout, ci, min_points, bootstrap
    )
    surface, minima, resid, r2 = _point_fit(runs, method, min_points, exclude_outside)
    laws = _exponents(
        runs, minima, surface, (method, min_points, exclude_outside), bootstrap, seed, ci
    )
    fit = IsoFlopFit(
        **laws,
        method=method,
        d_opt_source="tokens" if runs.D is not None else "C/(6N)",
        r2=r2,
        objective=float(np.sum(resid**2)),
        n_points=runs.n,
        residuals=resid,
        n_bootstrap=bootstrap,
        surface=surface,
    )
    if holdout == "largest":
        fit = _with_holdout(fit, runs, budget, method, rtol, min_points, exclude_outside)
    return fit


def _prepare(
    flops: ArrayLike,
    params: ArrayLike,
    loss: ArrayLike,
    tokens: ArrayLike | None,
    budget: ArrayLike | None,
    rtol: float,
    method: str,
    holdout: str | None,
    ci: float,
    min_points: int,
    bootstrap: int,
) -> tuple[_Runs, float, int]:
    """Check the arguments (``UserError`` naming the first bad one) and group the budgets."""
    if method not in METHODS:
        raise UserError(f"method: allowed values are {list(METHODS)}, got {method!r}")
    if holdout not in (None, "largest"):
        raise UserError(f"holdout: allowed values are None and 'largest', got {holdout!r}")
    C_run = positive_array("flops", flops)
    N = positive_array("params", params)
    L = positive_array("loss", loss)
    D = None if tokens is None else positive_array("tokens", tokens)
    n = same_length(flops=C_run, params=N, loss=L, tokens=D)
    ci = check_ci(ci)
    if min_points < 3:
        raise UserError(f"min_points: a parabola needs >= 3 runs per budget, got {min_points}")
    bootstrap = check_count("bootstrap", bootstrap)
    groups, C = group_budgets(C_run, budget, rtol)
    return _Runs(C_run, N, L, D, n, groups, C), ci, bootstrap


def _point_fit(
    runs: _Runs, method: str, min_points: int, exclude_outside: bool
) -> tuple[VarProSurface | None, list[IsoFlopMinimum], np.ndarray, float]:
    """(surface, minima, residuals, R^2) on the full data; ``UserError`` when fewer than two
    budgets are usable. Residuals are each interior run's loss against its budget's profile."""
    C, groups, N, L, D = runs.C, runs.groups, runs.N, runs.L, runs.D
    surface = _fit_surface(C, groups, N, L, D) if method == "varpro" else None
    minima, fits = _minima(C, groups, N, L, D, method, min_points, None, exclude_outside, surface)
    n_used = sum(m.used for m in minima)
    if n_used < 2:
        why = _describe_unusable(minima)
        raise UserError(
            f"isoflop: needs at least {min_points} runs at each of at least 2 FLOP budgets with "
            f"the loss minimum inside the sampled N range; usable budgets: {n_used} of "
            f"{len(minima)}" + (f" ({why})" if why else "")
        )
    used = [i for i, m in enumerate(minima) if m.used]
    idx = np.concatenate([np.flatnonzero(groups == g) for g in used])
    fitted = np.concatenate([fits[g] for g in used])  # type: ignore[misc]
    resid = L[idx] - fitted
    return surface, minima, resid, r2_score(L[idx], fitted)


def _exponents(
    runs: _Runs,
    minima: list[IsoFlopMinimum],
    surface: VarProSurface | None,
    profile: tuple[str, int, bool],
    bootstrap: int,
    seed: int,
    ci: float,
) -> dict[str, Any]:
    """The power laws and their bootstrap (``profile``: method, min_points, exclude_outside),
    as ``IsoFlopFit`` fields: unweighted without bootstrap, else weighted by 1/sigma^2 with
    percentile intervals (Porian et al. 2024)."""
    samples: dict[str, np.ndarray] = {}
    n_failed = 0
    weighting = "none"
    if bootstrap == 0:
        n_law, d_law, l_law, r_law = _laws(minima, ci)
    else:
        method, min_points, exclude_outside = profile
        C, groups, N, L, D = runs.C, runs.groups, runs.N, runs.L, runs.D
        boot = _bootstrap(
            C, groups, N, L, D, method, min_points, bootstrap, seed, exclude_outside, surface
        )
        minima, sig = _sigmas(minima, boot, groups, N, D, C)
        n_law, d_law, l_law, r_law = _laws(minima, ci, sig)
        weighting = "1/sigma^2, sigma = bootstrap std of log N_opt (log D_opt for D_opt)"
        a_s, b_s, cn_s, cd_s, n_failed = _weighted_refits(minima, boot, sig)
        samples = {"a": a_s, "b": b_s, "n_coef": cn_s, "d_coef": cd_s}
        n_law = replace(n_law, interval=percentile_interval(a_s, ci), interval_method="bootstrap")
        d_law = replace(d_law, interval=percentile_interval(b_s, ci), interval_method="bootstrap")
    return {
        "minima": tuple(minima),
        "n_opt_law": n_law,
        "d_opt_law": d_law,
        "loss_opt_law": l_law,
        "tokens_per_param_law": r_law,
        "bootstrap_samples": samples,
        "n_bootstrap_failed": n_failed,
        "weighting": weighting,
    }


def _laws(
    minima: list[IsoFlopMinimum], ci: float, sigmas: dict[str, np.ndarray] | None = None
) -> tuple[PowerLaw, PowerLaw, PowerLaw, PowerLaw]:
    """Power laws across the used budgets (Hoffmann et al. 2022 §3.2); ``sigmas`` (per used
    budget, keys "n", "d", "r") weight them by 1/sigma^2 (Porian et al. 2024). The minimum loss
    law stays unweighted."""
    use = [m for m in minima if m.used]
    c = np.array([m.flops for m in use])
    s = sigmas or {}
    n_law = fit_power_law(c, [m.n_opt for m in use], ci=ci, sigma=s.get("n"))
    d_law = fit_power_law(c, [m.d_opt for m in use], ci=ci, sigma=s.get("d"))
    l_law = fit_power_law(c, [m.loss_opt for m in use], ci=ci)
    r_law = fit_power_law(c, [m.tokens_per_param for m in use], ci=ci, sigma=s.get("r"))
    return n_law, d_law, l_law, r_law


def _describe_unusable(minima: list[IsoFlopMinimum]) -> str:
    parts = [f"C={m.flops:.3g}: {m.reason}" for m in minima if not m.used]
    return "; ".join(parts[:6]) + (" ..." if len(parts) > 6 else "")


def _with_holdout(
    fit: IsoFlopFit,
    runs: _Runs,
    budget: ArrayLike | None,
    method: str,
    rtol: float,
    min_points: int,
    exclude_outside: bool,
) -> IsoFlopFit:
    """``fit`` with the hold-out check on its largest budget (``scaling.fit.holdout``)."""
    from scaling.fit.holdout import holdout_isoflop

    return replace(
        fit,
        holdout=holdout_isoflop(
            fit,
            runs.C_run,
            runs.N,
            runs.L,
            runs.D,
            budget=budget,
            refit=fit_isoflop,
            groups=runs.groups,
            method=method,
            rtol=rtol,
            min_points=min_points,
            exclude_outside=exclude_outside,
        ),
    )
