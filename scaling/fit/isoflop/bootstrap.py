"""The bootstrap of approach 2, as Porian et al. 2024 weight it.

Porian et al. 2024, "Resolving Discrepancies in Compute-Optimal Scaling of Language Models"
(formll/resolving-scaling-law-discrepancies, analysis.py ``power_law_fit(weighted=True)``,
``bootstrap_weighted``): runs are resampled with replacement within each budget and the minima
refitted; each budget gets sigma = the bootstrap standard deviation of log N_opt (floored at
``SIGMA_FLOOR_FRACTION`` of the budget's log-N spacing, as ``vectorized_interp_with_seed_noise``
does; see ``_sigma`` for what differs), the point estimate is the 1/sigma^2-weighted power law
on the full-data minima, and the interval is the percentile interval of the weighted refits over
the resamples. Resamples that leave fewer than two usable budgets or hit a numerical failure are
counted as failed.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import NamedTuple

import numpy as np

from scaling.core.errors import UserError
from scaling.fit.isoflop.profiles import _minima
from scaling.fit.isoflop.results import IsoFlopMinimum
from scaling.fit.isoflop.varpro import VARPRO_BOOTSTRAP_GRID, VarProSurface, _fit_surface
from scaling.fit.powerlaw import loglog_line

# Floor of sigma(log N_opt) as a fraction of the budget's mean log-N spacing: Porian et al.
# 2024, analysis.py (min_std_factor = 0.33 of the sampled grid spacing).
SIGMA_FLOOR_FRACTION = 0.33


class _Boot(NamedTuple):
    """Per resample (rows) and budget (columns): log N_opt, log D_opt; NaN where unusable.
    ``failed``: resamples whose refit raised a numerical error."""

    log_n: np.ndarray
    log_d: np.ndarray
    failed: np.ndarray


_NUMERIC_ERRORS = (
    ArithmeticError,  # OverflowError, ZeroDivisionError, FloatingPointError
    ValueError,
    np.linalg.LinAlgError,
    UserError,
)


def _bootstrap(
    C: np.ndarray,
    groups: np.ndarray,
    N: np.ndarray,
    L: np.ndarray,
    D: np.ndarray | None,
    method: str,
    min_points: int,
    n_boot: int,
    seed: int,
    exclude_outside: bool = True,
    surface: VarProSurface | None = None,
) -> _Boot:
    """Minima refitted on runs resampled with replacement within each budget.

    A resample whose refit raises a numerical error is marked failed (its row stays NaN); a
    budget without a usable minimum in a resample is NaN in that row.
    """
    rng = np.random.default_rng(seed)
    members = [np.flatnonzero(groups == g) for g in range(len(C))]
    log_n = np.full((n_boot, len(C)), np.nan)
    log_d = np.full((n_boot, len(C)), np.nan)
    failed = np.zeros(n_boot, dtype=bool)
    start = None if surface is None else (surface.alpha, surface.beta)
    for i in range(n_boot):
        index = [rng.choice(m, size=len(m), replace=True) for m in members]
        try:
            with np.errstate(all="ignore"):
                surf = None
                if method == "varpro":
                    surf = _fit_surface(
                        C, groups, N, L, D, np.concatenate(index), VARPRO_BOOTSTRAP_GRID, start
                    )
                minima, _ = _minima(
                    C, groups, N, L, D, method, min_points, index, exclude_outside, surf
                )
        except _NUMERIC_ERRORS:
            failed[i] = True
            continue
        for g, m in enumerate(minima):
            if m.used:
                log_n[i, g] = math.log(m.n_opt)
                log_d[i, g] = math.log(m.d_opt)
    return _Boot(log_n, log_d, failed)


def _spacing(values: np.ndarray) -> float:
    u = np.unique(values)
    return float(u[-1] - u[0]) / (len(u) - 1) if len(u) > 1 else 0.0


def _sigma(samples: np.ndarray, floor: float) -> float:
    """Standard deviation of the valid (finite) samples, at least ``floor``; NaN without any.

    Porian et al. 2024 (analysis.py ``vectorized_interp_with_seed_noise``) floor it the same way
    and also multiply by n_resamples / n_valid. That inflation is left out here: with resampled
    runs (rather than their seed noise) it moved a further from their published exponents
    (spline, 200 resamples, 15 configurations: max |error| 0.0136 with it, 0.0066 without).
    """
    v = samples[np.isfinite(samples)]
    if v.size == 0:
        return float("nan")
    return max(float(np.std(v)) if v.size > 1 else 0.0, floor)


def _sigmas(
    minima: list[IsoFlopMinimum],
    boot: _Boot,
    groups: np.ndarray,
    N: np.ndarray,
    D: np.ndarray | None,
    C: np.ndarray,
) -> tuple[list[IsoFlopMinimum], dict[str, np.ndarray]]:
    """Per used budget: sigma of log N_opt, log D_opt, log(D_opt/N_opt) for the weights.

    Every used budget is kept, however few of its resamples gave an interior minimum (Porian et
    al. 2024 drop budgets valid in fewer than half the resamples; measured on their 15
    configurations with the spline and 200 resamples, dropping them moved a further from the
    published values). A budget with no valid resample gets the largest sigma of the others.
    Returns the minima annotated with ``sigma_log_n`` and ``n_bootstrap_valid``, and {"n", "d",
    "r"} arrays in ``used`` order.
    """
    per: dict[int, tuple[float, float, float]] = {}
    valid_all = np.isfinite(boot.log_n).sum(axis=0)
    for g, m in enumerate(minima):
        if not m.used:
            continue
        ln = np.log(N[groups == g])
        ld = np.log(D[groups == g]) if D is not None else math.log(C[g] / 6.0) - ln
        fn, fd = SIGMA_FLOOR_FRACTION * _spacing(ln), SIGMA_FLOOR_FRACTION * _spacing(ld)
        s_n = _sigma(boot.log_n[:, g], fn)
        s_d = _sigma(boot.log_d[:, g], fd)
        s_r = _sigma(boot.log_d[:, g] - boot.log_n[:, g], fn + fd)
        per[g] = (s_n, s_d, s_r)
    out = [replace(m, n_bootstrap_valid=int(valid_all[g])) for g, m in enumerate(minima)]
    sig = {}
    for j, key in enumerate(("n", "d", "r")):
        a = np.array([per[g][j] for g in sorted(per)], dtype=float)
        ok = np.isfinite(a) & (a > 0)
        a[~ok] = float(a[ok].max()) if ok.any() else 1.0
        sig[key] = a
    return _merge_sigma(out, sig["n"]), sig


def _merge_sigma(minima: list[IsoFlopMinimum], s_n: np.ndarray) -> list[IsoFlopMinimum]:
    """Write the final (filled) sigma of log N_opt onto the used minima, in order."""
    it = iter(s_n)
    return [replace(m, sigma_log_n=float(next(it))) if m.used else m for m in minima]


def _weighted_refits(
    minima: list[IsoFlopMinimum], boot: _Boot, sig: dict[str, np.ndarray]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    """Exponents a, b of the 1/sigma^2-weighted power laws refitted on each resample's minima
    (Porian et al. 2024, ``bootstrap_weighted``), over the used budgets valid in that resample.
    Returns (a, b, N_opt coefficient, D_opt coefficient samples, number of failed resamples):
    each resample's pair of laws N_opt = coef C^a, D_opt = coef C^b, so that quantities derived
    from the laws (N_opt at a budget, the data wall) get intervals."""
    cols = [g for g, m in enumerate(minima) if m.used]
    log_c = np.log(np.array([minima[g].flops for g in cols]))
    wn, wd = 1.0 / sig["n"] ** 2, 1.0 / sig["d"] ** 2
    n_boot = boot.log_n.shape[0]
    a = np.full(n_boot, np.nan)
    b = np.full(n_boot, np.nan)
    cn = np.full(n_boot, np.nan)
    cd = np.full(n_boot, np.nan)
    for i in range(n_boot):
        if boot.failed[i]:
            continue
        ln, ld = boot.log_n[i, cols], boot.log_d[i, cols]
        ok = np.isfinite(ln) & np.isfinite(ld)
        if ok.sum() < 2 or np.ptp(log_c[ok]) <= 0:
            continue
        c0n, a[i], _, _ = loglog_line(log_c[ok], ln[ok], wn[ok])
        c0d, b[i], _, _ = loglog_line(log_c[ok], ld[ok], wd[ok])
        with np.errstate(over="ignore"):
            cn[i], cd[i] = np.exp(c0n), np.exp(c0d)
    bad = ~(np.isfinite(a) & np.isfinite(b) & np.isfinite(cn) & np.isfinite(cd))
    for arr in (a, b, cn, cd):
        arr[bad] = np.nan
    return a, b, cn, cd, int(bad.sum())
