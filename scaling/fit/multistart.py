"""One fitting engine for the parametric laws: multistart, distinct optima, polish, bootstrap.

Hoffmann et al. 2022, App. D.2, fit their law by L-BFGS from a grid of initialisations and keep
the best end point; Besiroglu et al. 2024 (arXiv:2404.10102; epoch-research/analyzing-chinchilla
data_analysis.ipynb, the bootstrap refits) refit bootstrap resamples of the rows the same way,
warm-started from the full fit and from the best of a few random grid points.
``Multistart`` runs that sequence for any law given its batched objective (``scaling.fit._optim``
convention: ``fg(theta (k, P), rows) -> (f (k,), grad (k, P))``, one problem per row of the
weights):

1. every start is minimised at once by ``batched_bfgs`` (optionally on a cheaper ranking
   objective, e.g. single precision);
2. the best end points that lie in different basins (``distinct_best``, 0.05 apart in max-norm
   of theta) and within 1.5x of the best value are polished one by one with scipy L-BFGS-B in
   double precision; the polished optima, deduplicated at 1e-3, come back best first with the
   best one's scipy status (``Optima``);
3. ``bootstrap`` refits resamples of the rows (or of whole clusters) drawn with replacement as
   row counts, every resample started from the given optima plus random grid points, all in one
   batch; a resample whose best end point did not converge or is not finite is a failed refit
   (``Refits.ok``), reported and left out of the intervals.

The thresholds 0.05, 1.5x and 1e-3 are design choices, not measured: theta holds logs of the
coefficients and the exponents, so 0.05 is a 5% change of A, B, E or 0.05 in an exponent (a
different basin, not rounding), 1e-3 is far above the polish's tolerances (two polished end
points closer than that are the same optimum), and a start ending 1.5x above the best lies in a
worse basin (often one where a term vanishes) that a polish cannot bring below the best.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from scaling.core.errors import UserError
from scaling.fit._common import percentile_interval
from scaling.fit._optim import BatchObjective, batched_bfgs, distinct_best

# row weights (n,) or one row per problem (S, n) -> batched objective
ObjectiveFactory = Callable[[np.ndarray], BatchObjective]

# L-BFGS-B settings of the polish: tolerances at the floor of double precision so that the
# polish, not the tolerance, decides where the fit ends (the batched stage already found the
# basin); scipy's documented options (scipy.optimize.minimize(method="L-BFGS-B")).
POLISH_OPTIONS: Mapping[str, int | float] = {
    "maxiter": 5000,
    "maxfun": 10000,
    "ftol": 1e-15,
    "gtol": 1e-11,
}
# L-BFGS-B's "ABNORMAL" line-search exit counts as converged when max |gradient| of the
# objective (scaled by 1 / Huber delta, so O(1) per point) is below this: no descent is left.
# A design choice: 1e-4 of a unit-scale objective moves the parameters by far less than their
# bootstrap spread.
POLISH_GRADIENT_OK: float = 1e-4
# Stage 2 keeps candidates within this factor of the best stage-1 value (see the module doc).
POLISH_WITHIN: float = 1.5
BASIN_TOL: float = 0.05  # distinct stage-1 end points (max-norm of theta)
OPTIMUM_TOL: float = 1e-3  # distinct polished optima (max-norm of theta)


@dataclass(frozen=True)
class Optima:
    """Distinct polished optima, best first, and scipy's status for the best one."""

    theta: np.ndarray  # (k, P)
    f: np.ndarray  # (k,) objective as minimised (scaled)
    converged: bool
    message: str


@dataclass(frozen=True)
class Refits:
    """Bootstrap refits: the best end point per resample and whether it is a usable refit."""

    theta: np.ndarray  # (n_boot, P)
    ok: np.ndarray  # (n_boot,) converged at a finite point

    @property
    def n_failed(self) -> int:
        return int((~self.ok).sum())

    def masked(self) -> np.ndarray:
        """theta with the failed refits' rows set to NaN."""
        return np.where(self.ok[:, None], self.theta, np.nan)


def polish(
    fg: BatchObjective, theta0: np.ndarray, row: int = 0, *, maxcor: int | None = None
) -> tuple[np.ndarray, float, bool, str]:
    """scipy L-BFGS-B from ``theta0`` on problem ``row``: (theta, f, converged, message).

    ``converged`` is scipy's success, or its "ABNORMAL" exit with max |g| < ``POLISH_GRADIENT_OK``
    (the floor of floating point). ``maxcor`` (L-BFGS memory) None keeps scipy's default of 10.
    """
    from scipy.optimize import minimize

    rows = np.array([row])

    def fun(th: np.ndarray) -> tuple[float, np.ndarray]:
        f, g = fg(th[None, :], rows)
        return float(f[0]), g[0]

    options = dict(POLISH_OPTIONS)
    if maxcor is not None:
        options["maxcor"] = maxcor
    res = minimize(fun, theta0, jac=True, method="L-BFGS-B", options=options)
    f_end, g_end = fun(res.x)
    ok = bool(res.success) or bool(
        np.isfinite(f_end) and float(np.max(np.abs(g_end))) < POLISH_GRADIENT_OK
    )
    return res.x, f_end, ok, str(res.message)


def product_grid(
    grid: Mapping[str, Sequence[float]],
    order: Sequence[str],
    n_starts: int | None = None,
    seed: int = 0,
) -> np.ndarray:
    """Starts (S, P): the product of ``grid``'s values in ``order``; ``n_starts`` smaller than the
    product picks that many points at random (seeded) without replacement, in grid order."""
    missing = [k for k in order if k not in grid]
    if missing:
        raise UserError(f"grid: missing {missing}; give values for each of {list(order)}")
    pts = np.array(list(itertools.product(*(grid[k] for k in order))), dtype=float)
    if n_starts is not None:
        if n_starts < 1:
            raise UserError(f"n_starts: must be >= 1, got {n_starts}")
        if n_starts < len(pts):
            rng = np.random.default_rng(seed)
            pts = pts[np.sort(rng.choice(len(pts), size=n_starts, replace=False))]
    return pts


def resample_counts(
    rng: np.random.Generator, n: int, n_boot: int, clusters: np.ndarray | None = None
) -> np.ndarray:
    """(n_boot, n) row counts of bootstrap resamples drawn with replacement (Efron 1979).

    With ``clusters`` (one label per row) whole clusters are drawn, so the rows of one cluster
    (e.g. the seeds of one grid point) move together: the cluster bootstrap of Davison and
    Hinkley 1997, §3.8.
    """
    if clusters is None:
        return rng.multinomial(n, np.full(n, 1.0 / n), size=n_boot).astype(float)
    _, code = np.unique(clusters, return_inverse=True)
    k_c = int(code.max()) + 1
    return rng.multinomial(k_c, np.full(k_c, 1.0 / k_c), size=n_boot)[:, code].astype(float)


def percentile_intervals(
    samples: Mapping[str, np.ndarray], ci: float
) -> dict[str, tuple[float, float]]:
    """Equal-tailed percentile interval at coverage ``ci`` of every sample (NaNs left out)."""
    return {k: percentile_interval(v, ci) for k, v in samples.items()}


@dataclass(frozen=True)
class Multistart:
    """A law's fitting problem for the engine: its objective and the optimiser's settings.

    ``objective(weights)`` builds the double-precision batched objective for row weights (n,)
    or one weight row per problem (S, n); ``rank_objective`` (default: ``objective``) is used
    for stage 1 only. ``rank_ftol`` and ``boot_ftol`` are ``batched_bfgs``'s ``ftol`` for the
    start grid and the bootstrap; ``n_polish`` distinct optima are polished, with L-BFGS
    memory ``maxcor``. ``law`` names the law in errors. The objective must be non-negative (a
    sum of losses, as the Huber objectives are): the 1.5x filter of stage 2 compares ratios.
    """

    law: str
    objective: ObjectiveFactory
    rank_objective: ObjectiveFactory | None = None
    rank_ftol: float = 1e-10
    boot_ftol: float = 1e-12
    n_polish: int = 4
    maxcor: int | None = None

    def minimise(self, weights: np.ndarray, starts: np.ndarray) -> Optima:
        """Stages 1 and 2 (module doc) from ``starts`` (S, P) with row ``weights`` (n,)."""
        rank = self.rank_objective or self.objective
        fg_rank = rank(weights)
        fg = fg_rank if self.rank_objective is None else self.objective(weights)
        res = batched_bfgs(fg_rank, starts, ftol=self.rank_ftol)
        top = distinct_best(res.x, res.f, self.n_polish, tol=BASIN_TOL)
        if top.size == 0:
            raise UserError(f"{self.law}: the fit diverged from every start (check the data)")
        top = top[res.f[top] <= POLISH_WITHIN * res.f[top[0]] + 1e-9]
        polished = [polish(fg, res.x[i], maxcor=self.maxcor) for i in top]
        thetas = np.array([p[0] for p in polished])
        values = np.array([p[1] for p in polished])
        keep = distinct_best(thetas, values, len(polished), tol=OPTIMUM_TOL)
        _, _, ok, message = polished[int(keep[0])]
        return Optima(theta=thetas[keep], f=values[keep], converged=ok, message=message)

    def bootstrap(
        self,
        weights: np.ndarray,
        starts: np.ndarray,
        n_boot: int,
        seed: int,
        *,
        clusters: np.ndarray | None = None,
        grid: np.ndarray | None = None,
        n_grid: int = 0,
    ) -> Refits:
        """Stage 3 (module doc): ``n_boot`` resamples, each from ``starts`` (k, P) and ``n_grid``
        random rows of ``grid``; resample counts first, then the grid picks, from one seeded
        generator."""
        rng = np.random.default_rng(seed)
        counts = resample_counts(rng, len(weights), n_boot, clusters)
        n_grid = 0 if grid is None else n_grid
        k = len(starts) + n_grid
        X0 = np.empty((n_boot, k, starts.shape[1]))
        X0[:, : len(starts)] = starts
        if n_grid:
            assert grid is not None
            X0[:, len(starts) :] = grid[rng.integers(0, len(grid), size=(n_boot, n_grid))]
        fg = self.objective(np.repeat(counts * weights, k, axis=0))
        res = batched_bfgs(fg, X0.reshape(n_boot * k, -1), ftol=self.boot_ftol)
        f = np.where(np.isfinite(res.f), res.f, np.inf).reshape(n_boot, k)
        best = np.argmin(f, axis=1)
        rows = np.arange(n_boot)
        theta = res.x.reshape(n_boot, k, -1)[rows, best]
        ok = res.converged.reshape(n_boot, k)[rows, best] & np.isfinite(f[rows, best])
        ok &= np.isfinite(theta).all(axis=1)
        return Refits(theta=theta, ok=ok)
