"""The VarPro surface of approach 2: L(N, D) = E + A N^-alpha + B D^-beta fitted to every run by
Variable Projection, and its minimum along one budget.

Xu, Elmatad, Wang and Held 2026, "Problems with Chinchilla Approach 2: Systematic Biases in
IsoFLOP Parabola Fits" (arXiv:2603.22339): for fixed (alpha, beta) the model is linear in
(E, A, B), solved here with E, A, B >= 0 by non-negative least squares on a grid of
(alpha, beta); the best cell is refined by a bounded local optimiser (Nelder-Mead). Each
budget's minimum is then the surface's minimum along the budget's own (N, D) curve
(``varpro_minimum``, the closed form of Hoffmann et al. 2022 eq. 4 for C = 6ND).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from scaling.core.errors import UserError
from scaling.fit._common import (
    ArrayLike,
    allocation_exponents,
    jsonable,
    positive_array,
    same_length,
)
from scaling.fit.isoflop.gate import _MAX_EXP, OUTSIDE, _exp
from scaling.fit.powerlaw import loglog_line

# VarPro grid over (alpha, beta) and the bounds of the local refinement. Published fits of
# L = E + A N^-alpha + B D^-beta sit well inside (Hoffmann et al. 2022: 0.34, 0.28; Besiroglu
# et al. 2024: 0.35, 0.37); the grid covers (0, 2]. Bootstrap refits use the coarser grid plus
# the full-data optimum as a start (timed with scripts/bench_isoflop_methods.py: 20 s for the
# 15 Porian et al. 2024 configurations with 200 resamples, see scaling.fit.isoflop.approach2).
VARPRO_GRID = np.linspace(0.05, 2.0, 40)
VARPRO_BOOTSTRAP_GRID = np.linspace(0.05, 2.0, 14)
VARPRO_BOUNDS = (1e-3, 4.0)


@dataclass(frozen=True)
class VarProSurface:
    """L(N, D) = E + A N^-alpha + B D^-beta fitted by Variable Projection (arXiv:2603.22339).

    ``rss``: sum of squared loss residuals. ``a`` = beta / (alpha + beta) and
    ``b`` = alpha / (alpha + beta) are the surface's closed-form compute-optimal exponents for
    C = 6ND (Hoffmann et al. 2022, eq. 4). ``grid_best`` is the best grid cell (alpha, beta)
    before the local refinement.
    """

    E: float
    A: float
    B: float
    alpha: float
    beta: float
    rss: float
    n_points: int
    grid_best: tuple[float, float] = (float("nan"), float("nan"))
    # centring of log N and log D used internally (A, B above are in natural units)
    log_n_ref: float = 0.0
    log_d_ref: float = 0.0
    A_scaled: float = float("nan")
    B_scaled: float = float("nan")

    @property
    def a(self) -> float:
        """Exponent of N_opt ∝ C^a (``fit._common.allocation_exponents``)."""
        return allocation_exponents(self.alpha, self.beta)[0]

    @property
    def b(self) -> float:
        """Exponent of D_opt ∝ C^b (``fit._common.allocation_exponents``)."""
        return allocation_exponents(self.alpha, self.beta)[1]

    def predict(self, N: ArrayLike | float, D: ArrayLike | float) -> np.ndarray:
        """E + A N^-alpha + B D^-beta (evaluated in centred log coordinates, no overflow)."""
        x = np.log(np.asarray(N, dtype=float)) - self.log_n_ref
        y = np.log(np.asarray(D, dtype=float)) - self.log_d_ref
        with np.errstate(over="ignore"):
            return (
                self.E
                + self.A_scaled * np.exp(-self.alpha * x)
                + self.B_scaled * np.exp(-self.beta * y)
            )

    def to_dict(self) -> dict[str, Any]:
        return jsonable(
            {
                "form": "E + A N^-alpha + B D^-beta",
                "E": self.E,
                "A": self.A,
                "B": self.B,
                "alpha": self.alpha,
                "beta": self.beta,
                "a_closed_form": self.a,
                "b_closed_form": self.b,
                "rss": self.rss,
                "n_points": self.n_points,
                "grid_best": list(self.grid_best),
            }
        )


def varpro_minimum(
    surface: VarProSurface, log_n: np.ndarray, log_d: np.ndarray
) -> tuple[float, float, float, str | None]:
    """Minimum of the VarPro surface along one budget: (x_opt = log N, loss_opt, curvature, why).

    The budget's own runs define its curve: log D = c0 + c1 log N by least squares within the
    budget (exact for C = 6ND, where c1 = -1; close for other FLOP counts such as 6N + attention).
    Along it L(x) = E + A e^(-alpha x) + B' e^(k x) with B' = B e^(-beta c0), k = -beta c1, so
    L'(x) = 0 at x* = log(alpha A / (k B')) / (alpha + k), the closed form that reduces to
    Hoffmann et al. 2022 eq. 4 for C = 6ND; L''(x*) = alpha^2 A e^(-alpha x*) + k^2 B' e^(k x*).
    Computed in the surface's centred coordinates; ``why`` is set when A, B or k vanish (no
    minimum) or x* lies outside the sampled range.
    """
    nan = float("nan")
    x = log_n - surface.log_n_ref
    y = log_d - surface.log_d_ref
    c0, c1, _, _ = loglog_line(x, y)
    al, be = surface.alpha, surface.beta
    A, B = surface.A_scaled, surface.B_scaled
    k = -be * c1
    if not (math.isfinite(c0) and math.isfinite(k) and A > 0 and B > 0 and k > 0 and al > 0):
        return nan, nan, nan, "the surface has no minimum along this budget (A, B or slope is 0)"
    log_bp = math.log(B) - be * c0
    xs = (math.log(al * A) - math.log(k) - log_bp) / (al + k)
    if not math.isfinite(xs) or abs(xs) > _MAX_EXP / max(al, k, 1.0):
        return nan, nan, nan, OUTSIDE
    t1 = A * math.exp(-al * xs)
    t2 = math.exp(log_bp + k * xs) if log_bp + k * xs < _MAX_EXP else float("inf")
    loss_opt = surface.E + t1 + t2
    curvature = al * al * t1 + k * k * t2
    reason = None if x.min() < xs < x.max() else OUTSIDE
    return xs + surface.log_n_ref, loss_opt, curvature, reason


def _design(x: np.ndarray, y: np.ndarray, alpha: float, beta: float) -> np.ndarray:
    return np.column_stack([np.ones_like(x), np.exp(-alpha * x), np.exp(-beta * y)])


def _nnls_rss(
    x: np.ndarray, y: np.ndarray, L: np.ndarray, alpha: float, beta: float
) -> tuple[float, np.ndarray]:
    """(RSS, [E, A, B]) of the NNLS solve on the design [1, e^(-alpha x), e^(-beta y)]."""
    return _nnls_solve(_design(x, y, alpha, beta), L)


def fit_varpro_surface(
    params: ArrayLike,
    tokens: ArrayLike,
    loss: ArrayLike,
    *,
    grid: ArrayLike | None = None,
    start: tuple[float, float] | None = None,
) -> VarProSurface:
    """Fit L(N, D) = E + A N^-alpha + B D^-beta by Variable Projection (arXiv:2603.22339).

    Xu, Elmatad, Wang and Held 2026 ("Problems with Chinchilla Approach 2: Systematic Biases in
    IsoFLOP Parabola Fits") separate the linear parameters: for fixed (alpha, beta) the model is
    linear in (E, A, B), solved here with E, A, B >= 0 by non-negative least squares
    (scipy.optimize.nnls, Lawson and Hanson 1974) on the design [1, N^-alpha, D^-beta]; the
    profiled sum of squared loss residuals is scanned over ``grid`` x ``grid`` (default
    ``VARPRO_GRID``; the scan is vectorised, ``_grid_nnls_rss``), and the best cell (or
    ``start``, if its RSS is lower) is refined by bounded Nelder-Mead (scipy.optimize.minimize;
    the profiled RSS is only piecewise smooth where the NNLS support changes) within
    ``VARPRO_BOUNDS``, re-solving the NNLS at each step (objective scaled by the starting RSS).
    The objective is the plain sum of squared loss residuals. log N and log D are centred on
    their means for conditioning; A and B are reported in natural units.
    """
    N = positive_array("params", params)
    D = positive_array("tokens", tokens)
    L = positive_array("loss", loss)
    n = same_length(params=N, tokens=D, loss=L)
    if n < 4:
        raise UserError(f"varpro: needs at least 4 runs, got {n}")
    mx, my = float(np.log(N).mean()), float(np.log(D).mean())
    x, y = np.log(N) - mx, np.log(D) - my
    g = np.asarray(VARPRO_GRID if grid is None else grid, dtype=float)
    best, grid_best, s0 = _grid_start(x, y, L, g, start)
    rss, al, be = _refine(x, y, L, best, s0)
    if not math.isfinite(rss):
        raise UserError("varpro: the surface fit failed at every grid cell (check the losses)")
    _, coef = _nnls_rss(x, y, L, al, be)
    E, As, Bs = (float(v) for v in coef)
    return VarProSurface(
        E=E,
        A=As * _exp(al * mx),
        B=Bs * _exp(be * my),
        alpha=al,
        beta=be,
        rss=rss,
        n_points=n,
        grid_best=grid_best,
        log_n_ref=mx,
        log_d_ref=my,
        A_scaled=As,
        B_scaled=Bs,
    )


_Cell = tuple[float, float, float]  # (RSS, alpha, beta)


def _grid_start(
    x: np.ndarray,
    y: np.ndarray,
    L: np.ndarray,
    g: np.ndarray,
    start: tuple[float, float] | None,
) -> tuple[_Cell, tuple[float, float], np.ndarray]:
    """(best cell, best grid cell (alpha, beta), start of the refinement): the grid scan, and
    ``start`` instead of the grid's best where its RSS is lower."""
    rss_grid = _grid_nnls_rss(x, y, L, g)
    if np.isfinite(rss_grid).any():
        i, j = np.unravel_index(int(np.nanargmin(rss_grid)), rss_grid.shape)
        best = (float(rss_grid[i, j]), float(g[i]), float(g[j]))
    else:
        best = (float("inf"), float("nan"), float("nan"))
    grid_best = (best[1], best[2])
    lo, hi = VARPRO_BOUNDS
    s0 = np.array(grid_best, dtype=float)
    if start is not None and all(math.isfinite(v) for v in start):
        st = np.clip(np.array(start, dtype=float), lo, hi)
        rss_st, _ = _nnls_rss(x, y, L, float(st[0]), float(st[1]))
        if rss_st < best[0]:
            best, s0 = (rss_st, float(st[0]), float(st[1])), st
    return best, grid_best, s0


def _refine(x: np.ndarray, y: np.ndarray, L: np.ndarray, best: _Cell, s0: np.ndarray) -> _Cell:
    """Bounded Nelder-Mead on the profiled RSS (scaled by the starting RSS) from ``s0``; the
    better of its end and ``best``. Tolerances: xatol 1e-9 in the exponents, fatol 1e-13 of the
    starting RSS, far below the exponents' bootstrap spread (chosen, not tuned)."""
    from scipy.optimize import minimize

    lo, hi = VARPRO_BOUNDS
    scale = best[0] if 0 < best[0] < float("inf") else 1.0

    def objective(p: np.ndarray) -> float:
        rss, _ = _nnls_rss(x, y, L, float(p[0]), float(p[1]))
        return rss / scale if math.isfinite(rss) else 1e300

    if np.isfinite(s0).all():
        try:
            res = minimize(
                objective,
                np.clip(s0, lo, hi),
                method="Nelder-Mead",
                bounds=[(lo, hi), (lo, hi)],
                options={"xatol": 1e-9, "fatol": 1e-13, "maxiter": 2000},
            )
            cand = (float(res.fun) * scale, float(res.x[0]), float(res.x[1]))
            if cand[0] <= best[0]:
                best = cand
        except (ValueError, FloatingPointError, np.linalg.LinAlgError):
            pass
    return best


_SUPPORTS = ((0,), (1,), (2,), (0, 1), (0, 2), (1, 2), (0, 1, 2))


def _grid_nnls_rss(x: np.ndarray, y: np.ndarray, L: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """RSS of the 3-column NNLS at every (alpha, beta) on ``grid`` x ``grid``, vectorised.

    Exact for three columns (Lawson and Hanson 1974, ch. 23: the NNLS solution is the
    least-squares solution on its support, which is non-negative there): every support's
    least-squares fit is computed from the normal equations (pseudo-inverse, so collinear
    columns do not raise) and the best non-negative one is kept. The scan only picks the start
    of the refinement, which re-solves with scipy.optimize.nnls.
    """
    with np.errstate(all="ignore"):
        U = np.exp(-np.outer(grid, x))  # (g, n): N^-alpha columns
        V = np.exp(-np.outer(grid, y))  # (g, n): D^-beta columns
        k, n = len(grid), len(x)
        one = np.ones((k, k))
        su, sv = U.sum(1), V.sum(1)
        gram = np.empty((k, k, 3, 3))
        gram[..., 0, 0] = n
        gram[..., 0, 1] = gram[..., 1, 0] = su[:, None] * one
        gram[..., 0, 2] = gram[..., 2, 0] = sv[None, :] * one
        gram[..., 1, 1] = (U * U).sum(1)[:, None] * one
        gram[..., 2, 2] = (V * V).sum(1)[None, :] * one
        gram[..., 1, 2] = gram[..., 2, 1] = U @ V.T
        rhs = np.empty((k, k, 3))
        rhs[..., 0] = L.sum()
        rhs[..., 1] = (U @ L)[:, None] * one
        rhs[..., 2] = (V @ L)[None, :] * one
        yy = float(L @ L)
        best = np.full((k, k), yy)
        for sup in _SUPPORTS:
            idx = np.array(sup)
            G = gram[..., idx[:, None], idx[None, :]]
            b = rhs[..., idx]
            coef = np.einsum("...ij,...j->...i", np.linalg.pinv(G), b)
            rss = yy - np.einsum("...i,...i->...", coef, b)
            ok = np.isfinite(rss) & (coef >= 0).all(-1)
            best = np.where(ok & (rss < best), rss, best)
        bad = ~np.isfinite(U).all(1)[:, None] | ~np.isfinite(V).all(1)[None, :]
        best[bad] = np.inf
    return np.maximum(best, 0.0)


def _nnls_solve(M: np.ndarray, L: np.ndarray) -> tuple[float, np.ndarray]:
    """(RSS, coefficients >= 0) by scipy.optimize.nnls (Lawson and Hanson 1974); inf on failure."""
    from scipy.optimize import nnls

    if not np.isfinite(M).all():
        return float("inf"), np.full(3, np.nan)
    try:
        coef, rnorm = nnls(M, L)
    except (RuntimeError, ValueError, np.linalg.LinAlgError):
        return float("inf"), np.full(3, np.nan)
    return float(rnorm) ** 2, coef


def _fit_surface(
    C: np.ndarray,
    groups: np.ndarray,
    N: np.ndarray,
    L: np.ndarray,
    D: np.ndarray | None,
    index: np.ndarray | None = None,
    grid: np.ndarray | None = None,
    start: tuple[float, float] | None = None,
) -> VarProSurface:
    """VarPro surface on the runs ``index`` (all runs by default); D = C / (6N) without tokens."""
    idx = np.arange(len(N)) if index is None else index
    Dv = D[idx] if D is not None else C[groups[idx]] / (6.0 * N[idx])
    return fit_varpro_surface(N[idx], Dv, L[idx], grid=grid, start=start)
