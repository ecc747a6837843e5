"""One budget's isoFLOP minimum: the profile of loss against log N and its interior gate.

Profiles (``method``):

- ``"quadratic"``: a parabola in log N (Hoffmann et al. 2022, §3.2).
- ``"spline"``: an Akima spline through log loss vs log N evaluated on a dense grid, as Porian
  et al. 2024 do (formll/resolving-scaling-law-discrepancies, analysis.py ``interpolation``:
  ``Akima1DInterpolator`` on 25 x (points - 1) grid values).
- ``"varpro"``: the minimum of the VarPro surface along the budget (``scaling.fit.isoflop.varpro``,
  arXiv:2603.22339).

Per-budget diagnostics (``IsoFlopMinimum``): ``centring`` (position of log N_opt in the sampled
log-N range, 0.5 = centred), ``curvature`` (d^2 loss / d(log N)^2 of the profile at the
minimum), ``points_left`` / ``points_right`` (distinct sampled N strictly below / above N_opt).
A budget is *interior* when it has at least ``min_points`` runs and its minimum passes the gate
(``scaling.fit.isoflop.gate``); other budgets are kept, flagged with a reason.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import replace
from typing import NamedTuple

import numpy as np

from scaling.fit.isoflop.gate import OUTSIDE, _exp, _gate, _positive
from scaling.fit.isoflop.results import IsoFlopMinimum
from scaling.fit.isoflop.varpro import VarProSurface, varpro_minimum
from scaling.fit.powerlaw import loglog_line


class _Profile(NamedTuple):
    """One budget's profile: minimum (x = log N), fitted loss at the runs, reason, curvature."""

    x_opt: float
    loss_opt: float
    fitted: np.ndarray
    reason: str | None
    curvature: float


def parabola_minimum(
    log_n: np.ndarray, loss: np.ndarray
) -> tuple[float, float, np.ndarray, str | None]:
    """Minimum of a least-squares parabola loss = c2 x^2 + c1 x + c0 in x = log N.

    Returns (x_opt, loss_opt, fitted loss at the data, reason or None). ``reason`` is set when
    the parabola opens downwards or its vertex lies outside the sampled range (Hoffmann et al.
    2022, §3.2 fits "a parabola to each IsoFLOPs curve").
    """
    p = _parabola(log_n, loss)
    return p.x_opt, p.loss_opt, p.fitted, p.reason


def _parabola(log_n: np.ndarray, loss: np.ndarray) -> _Profile:
    """Parabola profile (Hoffmann et al. 2022, §3.2); curvature = 2 c2."""
    xm = float(log_n.mean())
    x = log_n - xm
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # RankWarning on nearly collinear resamples
        c2, c1, c0 = np.polyfit(x, loss, 2)
    fitted = np.polyval([c2, c1, c0], x)
    nan = float("nan")
    if not (np.isfinite([c2, c1, c0]).all() and c2 > 0):
        return _Profile(nan, nan, fitted, "loss is not convex in log N (no minimum)", nan)
    xs = float(-c1 / (2 * c2))
    loss_opt = float(c0 - c1 * c1 / (4 * c2))
    reason = None if x.min() < xs < x.max() else OUTSIDE
    return _Profile(xs + xm, loss_opt, fitted, reason, float(2 * c2))


def spline_minimum(
    log_n: np.ndarray, loss: np.ndarray, multiplier: int = 25
) -> tuple[float, float, np.ndarray, str | None]:
    """Minimum of an Akima spline of log loss vs log N (Porian et al. 2024, analysis.py).

    The spline is evaluated on ``multiplier * (k - 1)`` evenly spaced log-N values (k distinct
    N); a minimum at either end of the grid is outside the sampled range.
    """
    p = _spline(log_n, loss, multiplier)
    return p.x_opt, p.loss_opt, p.fitted, p.reason


def _spline(log_n: np.ndarray, loss: np.ndarray, multiplier: int = 25) -> _Profile:
    """Akima profile of log loss (Porian et al. 2024). With f = log L the curvature of the loss
    is L (f'' + f'^2), evaluated at the grid minimum."""
    from scipy.interpolate import Akima1DInterpolator

    ux, inv = np.unique(log_n, return_inverse=True)
    ly = np.log(loss)
    nan = float("nan")
    if len(ux) < 3:
        return _Profile(nan, nan, loss.copy(), "fewer than 3 distinct model sizes", nan)
    uy = np.bincount(inv, weights=ly) / np.bincount(inv)
    spline = Akima1DInterpolator(ux, uy)
    grid = np.linspace(ux[0], ux[-1], multiplier * (len(ux) - 1))
    vals = spline(grid)
    i = int(np.argmin(vals))
    fitted = np.exp(spline(log_n))
    reason = None if 0 < i < len(grid) - 1 else OUTSIDE
    x = float(grid[i])
    f1, f2 = float(spline(x, 1)), float(spline(x, 2))
    curvature = _exp(float(vals[i])) * (f2 + f1 * f1)
    return _Profile(x, _exp(float(vals[i])), fitted, reason, curvature)


def budget_minimum(
    C: float,
    N: np.ndarray,
    L: np.ndarray,
    D: np.ndarray | None,
    *,
    method: str,
    min_points: int,
    surface: VarProSurface | None = None,
) -> tuple[IsoFlopMinimum, np.ndarray | None]:
    """The minimum of one budget and the profile's fitted loss at its runs (None if unusable).

    D_opt is read off the least-squares line log D = c0 + c1 log N through the budget's runs
    (``tokens`` given), else C / (6 N_opt). ``method="varpro"`` needs the fitted ``surface``.
    """
    k = len(N)
    n_min, n_max = float(N.min()), float(N.max())
    nan = float("nan")
    log_n = np.log(N)
    ux = np.unique(log_n)
    if k < min_points or len(ux) < 3:  # a parabola (or a curved spline) needs 3 distinct N
        why = f"fewer than {min_points} runs" if k < min_points else "fewer than 3 distinct N"
        return IsoFlopMinimum(C, nan, nan, nan, k, False, why, n_min, n_max), None
    log_d = np.log(D) if D is not None else math.log(C / 6.0) - log_n
    if method == "quadratic":
        prof = _parabola(log_n, L)
    elif method == "spline":
        prof = _spline(log_n, L)
    else:
        if surface is None:
            raise ValueError("varpro needs a fitted surface")
        x_opt, loss_opt, curv, why = varpro_minimum(surface, log_n, log_d)
        fitted = surface.predict(N, np.exp(log_d))
        prof = _Profile(x_opt, loss_opt, fitted, why, curv)
    reason, centring, left, right = _gate(prof.reason, prof.x_opt, prof.curvature, ux)
    n_opt = _exp(prof.x_opt)
    if D is not None and math.isfinite(prof.x_opt):
        c0, c1, _, _ = loglog_line(log_n, log_d)
        d_opt = _exp(c0 + c1 * prof.x_opt)
    else:
        d_opt = C / (6.0 * n_opt) if math.isfinite(n_opt) and n_opt > 0 else nan
    m = IsoFlopMinimum(
        C,
        n_opt,
        d_opt,
        prof.loss_opt,
        k,
        reason is None,
        reason,
        n_min,
        n_max,
        centring=centring,
        curvature=prof.curvature,
        points_left=left,
        points_right=right,
    )
    return m, prof.fitted


def _minima(
    C: np.ndarray,
    groups: np.ndarray,
    N: np.ndarray,
    L: np.ndarray,
    D: np.ndarray | None,
    method: str,
    min_points: int,
    index: list[np.ndarray] | None = None,
    exclude_outside: bool = True,
    surface: VarProSurface | None = None,
) -> tuple[list[IsoFlopMinimum], list[np.ndarray | None]]:
    out, fits = [], []
    for g, c in enumerate(C):
        idx = np.flatnonzero(groups == g) if index is None else index[g]
        m, fitted = budget_minimum(
            float(c),
            N[idx],
            L[idx],
            None if D is None else D[idx],
            method=method,
            min_points=min_points,
            surface=surface,
        )
        finite = _positive(m.n_opt, m.d_opt, m.loss_opt)
        outside_ok = not exclude_outside and m.reason == OUTSIDE and finite
        out.append(replace(m, used=(m.interior and finite) or outside_ok))
        fits.append(fitted)
    return out, fits
