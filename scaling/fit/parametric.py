"""Parametric loss law L(N, D) = E + A / N^alpha + B / D^beta (Chinchilla approach 3).

Hoffmann et al. 2022, "Training Compute-Optimal Large Language Models", §3.3 eq. (2) and App. D.2:
the law is fitted in log-sum-exp form,

    log L_hat = LSE(a - alpha log N, b - beta log D, e),   A = exp(a), B = exp(b), E = exp(e),

by minimising the Huber loss (delta = 1e-3) of log L_hat - log L, with L-BFGS started from a grid
of initialisations. Besiroglu et al. 2024, "Chinchilla Scaling: A replication attempt"
(arXiv:2404.10102), show that the Huber terms must be *summed* (the published fit
averaged them, which stopped the optimiser before convergence) and refit the law on 240 points
read off Hoffmann et al.'s Fig. 4.

Speed: the 4,500 starts are minimised together by a batched BFGS (``scaling.fit._optim``) with an
analytic gradient; the best few distinct optima are then polished with
``scipy.optimize.minimize(method="L-BFGS-B")``. Bootstrap resamples (rows drawn with
replacement) are solved as one batch too, each resample being a vector of row counts.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from scaling.core.errors import UserError
from scaling.fit._common import (
    ArrayLike,
    check_ci,
    huber,
    jsonable,
    need_points,
    percentile_interval,
    positive_array,
    r2_score,
    same_length,
    scalar_or_array,
)
from scaling.fit._optim import BatchObjective, batched_bfgs, chunked, distinct_best

if TYPE_CHECKING:
    from scaling.fit.holdout import HoldoutResult

PARAM_NAMES = ("E", "A", "B", "alpha", "beta")

# Initialisation grid of Hoffmann et al. 2022, App. D.2, as used by Besiroglu et al. 2024
# (epoch-research/analyzing-chinchilla, data_analysis.ipynb: alpha, beta in np.arange(0, 2.5, 0.5),
# e in np.arange(-1, 1.5, 0.5), a, b in np.arange(0, 30, 5)): 5 * 5 * 5 * 6 * 6 = 4,500 starts.
HOFFMANN_GRID: Mapping[str, tuple[float, ...]] = {
    "a": (0.0, 5.0, 10.0, 15.0, 20.0, 25.0),
    "b": (0.0, 5.0, 10.0, 15.0, 20.0, 25.0),
    "e": (-1.0, -0.5, 0.0, 0.5, 1.0),
    "alpha": (0.0, 0.5, 1.0, 1.5, 2.0),
    "beta": (0.0, 0.5, 1.0, 1.5, 2.0),
}
_THETA = ("a", "b", "e", "alpha", "beta")  # internal optimisation order


@dataclass(frozen=True)
class ChinchillaLaw:
    """L(N, D) = E + A / N^alpha + B / D^beta (Hoffmann et al. 2022, §3.3 eq. 2)."""

    E: float
    A: float
    B: float
    alpha: float
    beta: float

    def predict(self, N: ArrayLike | float, D: ArrayLike | float) -> float | np.ndarray:
        """Loss at N parameters and D tokens (Hoffmann et al. 2022, eq. 2)."""
        n = np.asarray(N, dtype=float)
        d = np.asarray(D, dtype=float)
        # N or D of 0 gives an infinite loss, the law's limit
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            out = self.E + self.A / n**self.alpha + self.B / d**self.beta
        return scalar_or_array(out, np.broadcast(n, d))

    @property
    def a(self) -> float:
        """Exponent of N_opt ∝ C^a: a = beta / (alpha + beta) (Hoffmann et al. 2022, eq. 4)."""
        return self.beta / (self.alpha + self.beta)

    @property
    def b(self) -> float:
        """Exponent of D_opt ∝ C^b: b = alpha / (alpha + beta) (Hoffmann et al. 2022, eq. 4)."""
        return self.alpha / (self.alpha + self.beta)

    @property
    def G(self) -> float:
        """G = (alpha A / (beta B))^(1 / (alpha + beta)) (Hoffmann et al. 2022, eq. 4).

        NaN when the law has no interior optimum (a non-positive exponent or coefficient, as
        a degenerate bootstrap resample can give)."""
        if not (self.alpha > 0 and self.beta > 0 and self.A > 0 and self.B > 0):
            return float("nan")
        return float(
            (self.alpha * self.A / (self.beta * self.B)) ** (1.0 / (self.alpha + self.beta))
        )

    def compute_optimal(
        self, C: ArrayLike | float
    ) -> tuple[float | np.ndarray, float | np.ndarray]:
        """(N_opt, D_opt) minimising L subject to C = 6 N D (Hoffmann et al. 2022, eq. 4).

        N_opt = G (C/6)^a and D_opt = G^-1 (C/6)^b.
        """
        c = np.asarray(C, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):  # degenerate fits give inf/nan
            n_opt = self.G * (c / 6.0) ** self.a
            d_opt = (c / 6.0) ** self.b / self.G
        return scalar_or_array(n_opt, C), scalar_or_array(d_opt, C)

    def params(self) -> dict[str, float]:
        """The five named parameters."""
        return {k: float(getattr(self, k)) for k in PARAM_NAMES}

    def to_dict(self) -> dict[str, Any]:
        return {"law": "chinchilla", **self.params(), "a": self.a, "b": self.b, "G": self.G}


# Hoffmann et al. 2022, §3.3: the published approach-3 fit, as rounded in the text.
HOFFMANN_2022 = ChinchillaLaw(E=1.69, A=406.4, B=410.7, alpha=0.34, beta=0.28)
# Besiroglu et al. 2024, Table 1 (arXiv:2404.10102): refit on 240 points of Hoffmann Fig. 4.
BESIROGLU_2024 = ChinchillaLaw(E=1.8172, A=482.01, B=2085.43, alpha=0.3478, beta=0.3658)
# Muennighoff et al. 2023: the base law fitted on Chinchilla's C4 isoFLOP points with alpha tied
# to beta (huggingface/datablations utils/parametric_fit.ipynb, "FIT CHINCHILLA C4 ISOFLOP DOTS":
# a, b, e, alpha = 6.255414, 7.3049974, 0.6254804, 0.3526596); used by scaling.fit.constrained.
MUENNIGHOFF_2023_BASE = ChinchillaLaw(
    E=math.exp(0.6254804),
    A=math.exp(6.255414),
    B=math.exp(7.3049974),
    alpha=0.3526596,
    beta=0.3526596,
)


@dataclass(frozen=True)
class ChinchillaFit(ChinchillaLaw):
    """A fitted Chinchilla law with goodness of fit and bootstrap uncertainty.

    ``objective`` is the summed Huber loss of the log residuals at the optimum; ``residuals``
    are log L - log L_hat per point; ``r2`` is computed on the loss itself. ``intervals`` maps
    E, A, B, alpha, beta and the compute-optimal exponents a, b to equal-tailed percentile
    intervals over ``bootstrap_samples`` (rows resampled with replacement); it is empty when no
    bootstrap was asked for. ``converged`` and ``optimizer_message`` are scipy L-BFGS-B's status
    for the final polish of the best optimum; ``n_bootstrap_failed`` counts resamples whose refit
    did not converge or ended at a non-finite point (their samples are NaN, left out of the
    intervals, and the validity gates refuse a fit where too many failed).
    """

    objective: float = float("nan")
    n_points: int = 0
    r2: float = float("nan")
    huber_delta: float = 1e-3
    n_starts: int = 0
    ci: float = 0.95
    converged: bool = True
    optimizer_message: str = ""
    n_bootstrap_failed: int = 0
    residuals: np.ndarray = field(default_factory=lambda: np.empty(0), compare=False, repr=False)
    intervals: Mapping[str, tuple[float, float]] = field(default_factory=dict, compare=False)
    bootstrap_samples: Mapping[str, np.ndarray] = field(
        default_factory=dict, compare=False, repr=False
    )
    holdout: HoldoutResult | None = field(default=None, compare=False, repr=False)

    @property
    def law(self) -> ChinchillaLaw:
        """The point estimate as a plain law."""
        return ChinchillaLaw(self.E, self.A, self.B, self.alpha, self.beta)

    def bootstrap_laws(self) -> list[ChinchillaLaw]:
        """One law per successful bootstrap resample (empty without bootstrap)."""
        s = self.bootstrap_samples
        if not s:
            return []
        laws = [ChinchillaLaw(*(float(s[k][i]) for k in PARAM_NAMES)) for i in range(len(s["E"]))]
        return [lw for lw in laws if all(np.isfinite(v) for v in lw.params().values())]

    def compute_optimal_interval(self, C: float) -> dict[str, tuple[float, float]]:
        """Bootstrap percentile intervals of N_opt and D_opt at compute C (Hoffmann eq. 4)."""
        laws = self.bootstrap_laws()
        if not laws:
            return {}
        nd = np.array([law.compute_optimal(C) for law in laws], dtype=float)
        return {
            "N_opt": percentile_interval(nd[:, 0], self.ci),
            "D_opt": percentile_interval(nd[:, 1], self.ci),
        }

    def summary(self) -> dict[str, tuple[float, tuple[float, float] | None]]:
        """name -> (value, interval or None) for the table printer."""
        out = {k: (v, self.intervals.get(k)) for k, v in self.params().items()}
        out["a (N_opt ∝ C^a)"] = (self.a, self.intervals.get("a"))
        out["b (D_opt ∝ C^b)"] = (self.b, self.intervals.get("b"))
        return out

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            **super().to_dict(),
            "objective": self.objective,
            "objective_kind": f"sum of Huber(delta={self.huber_delta:g}) on log loss",
            "n_points": self.n_points,
            "r2": self.r2,
            "n_starts": self.n_starts,
            "ci": self.ci,
            "intervals": {k: list(v) for k, v in self.intervals.items()},
            "n_bootstrap": len(self.bootstrap_samples.get("E", ())),
            "n_bootstrap_failed": self.n_bootstrap_failed,
            "converged": self.converged,
            "optimizer_message": self.optimizer_message,
            "residuals_log": self.residuals,
        }
        if self.holdout is not None:
            out["holdout"] = self.holdout.to_dict()
        return jsonable(out)


# --------------------------------------------------------------------------- math (pure functions)


def lse_log_loss(theta: np.ndarray, log_n: np.ndarray, log_d: np.ndarray) -> np.ndarray:
    """log L_hat = LSE(a - alpha log N, b - beta log D, e) for theta rows (a, b, e, alpha, beta).

    Hoffmann et al. 2022, App. D.2. ``theta`` is (S, 5); returns (S, n).
    """
    t = np.atleast_2d(theta)
    t1 = t[:, 0:1] - t[:, 3:4] * log_n
    t2 = t[:, 1:2] - t[:, 4:5] * log_d
    t3 = np.broadcast_to(t[:, 2:3], t1.shape)
    m = np.maximum(np.maximum(t1, t2), t3)
    return m + np.log(np.exp(t1 - m) + np.exp(t2 - m) + np.exp(t3 - m))


def chinchilla_objective(
    log_n: np.ndarray,
    log_d: np.ndarray,
    log_l: np.ndarray,
    weights: np.ndarray,
    delta: float,
    dtype: type = np.float64,
) -> BatchObjective:
    """Batched objective f = sum_i w_i Huber_delta(log L_hat_i - log L_i) / delta and its gradient.

    Returns ``fg(theta (k, 5), rows) -> (f (k,), grad (k, 5))`` for theta rows
    (a, b, e, alpha, beta). ``weights`` is (n,) or (S, n) (one row per problem, e.g. bootstrap
    counts; ``rows`` selects them). The value is divided by ``delta`` so that the optimiser sees
    O(1) numbers (Besiroglu et al. 2024: a badly scaled objective stopped L-BFGS early);
    the minimiser is unchanged. ``dtype=np.float32`` is ~4x faster (single-precision exp) and
    precise to ~1e-5 relative: good enough to rank thousands of starts, not to finish a fit.

    With u = clip(r / delta, -1, 1), Huber(r) / delta = u (r - delta u / 2) and its derivative
    is u, which avoids branches.
    """
    per_problem = weights.ndim == 2
    inv_delta = 1.0 / delta
    ln = np.ascontiguousarray(log_n, dtype=dtype)
    ld = np.ascontiguousarray(log_d, dtype=dtype)
    ll = np.ascontiguousarray(log_l, dtype=dtype)
    wt = np.ascontiguousarray(weights, dtype=dtype)
    unit = (not per_problem) and bool(np.all(weights == 1))
    x_n = np.stack([np.ones_like(ln), ln], axis=1)  # (n, 2): sums and log-N moments in one matmul
    x_d = np.stack([np.ones_like(ld), ld], axis=1)

    def fg(theta: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        th = np.asarray(theta, dtype=dtype)
        e1 = np.multiply(th[:, 3:4], ln)
        np.subtract(th[:, 0:1], e1, out=e1)  # t1 = a - alpha log N
        e2 = np.multiply(th[:, 4:5], ld)
        np.subtract(th[:, 1:2], e2, out=e2)  # t2 = b - beta log D
        m = np.maximum(e1, e2)
        np.maximum(m, th[:, 2:3], out=m)
        np.subtract(e1, m, out=e1)
        np.exp(e1, out=e1)
        np.subtract(e2, m, out=e2)
        np.exp(e2, out=e2)
        e3 = np.subtract(th[:, 2:3], m)
        np.exp(e3, out=e3)
        s = np.add(e1, e2)
        s += e3
        r = np.log(s)
        r += m
        r -= ll  # r = log L_hat - log L
        u = np.multiply(r, inv_delta, out=m)
        np.clip(u, -1.0, 1.0, out=u)
        h = np.multiply(u, -0.5 * delta)
        h += r
        h *= u  # Huber(r) / delta
        if not unit:
            w = wt[rows] if per_problem else wt
            h *= w
            u *= w
        f = h.sum(axis=1)
        u /= s  # d f / d LSE * 1/s
        np.multiply(u, e1, out=e1)
        np.multiply(u, e2, out=e2)
        np.multiply(u, e3, out=e3)
        g1 = e1 @ x_n
        g2 = e2 @ x_d
        g = np.empty((th.shape[0], 5))
        g[:, 0] = g1[:, 0]
        g[:, 1] = g2[:, 0]
        g[:, 2] = e3.sum(axis=1)
        g[:, 3] = -g1[:, 1]
        g[:, 4] = -g2[:, 1]
        return f.astype(np.float64), g

    return chunked(fg, len(ln))


def grid_starts(
    grid: Mapping[str, Sequence[float]] | None = None,
    n_starts: int | None = None,
    seed: int = 0,
) -> np.ndarray:
    """Starting points (S, 5) in (a, b, e, alpha, beta) order from the product grid.

    The default grid is Hoffmann et al. 2022 App. D.2 (4,500 points). ``n_starts`` smaller than
    the grid picks that many grid points at random (seeded) without replacement.
    """
    g = dict(HOFFMANN_GRID if grid is None else grid)
    missing = [k for k in _THETA if k not in g]
    if missing:
        raise UserError(f"grid: missing {missing}; give values for each of {list(_THETA)}")
    pts = np.array(list(itertools.product(*(g[k] for k in _THETA))), dtype=float)
    if n_starts is not None:
        if n_starts < 1:
            raise UserError(f"n_starts: must be >= 1, got {n_starts}")
        if n_starts < len(pts):
            rng = np.random.default_rng(seed)
            pts = pts[np.sort(rng.choice(len(pts), size=n_starts, replace=False))]
    return pts


def _polish(
    fg: BatchObjective, theta0: np.ndarray, row: int
) -> tuple[np.ndarray, float, bool, str]:
    """scipy L-BFGS-B from ``theta0`` on problem ``row`` with tight tolerances: (theta, f,
    converged, message). L-BFGS-B's "ABNORMAL" line-search exit at the floor of floating point
    counts as converged when the gradient is already small (max |g| < 1e-4 on the objective
    scaled by 1/delta), since no descent is left to find."""
    from scipy.optimize import minimize

    rows = np.array([row])

    def fun(th: np.ndarray) -> tuple[float, np.ndarray]:
        f, g = fg(th[None, :], rows)
        return float(f[0]), g[0]

    res = minimize(
        fun,
        theta0,
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": 5000, "maxfun": 10000, "ftol": 1e-15, "gtol": 1e-11, "maxcor": 30},
    )
    f_end, g_end = fun(res.x)
    ok = bool(res.success) or (np.isfinite(f_end) and float(np.max(np.abs(g_end))) < 1e-4)
    return res.x, f_end, ok, str(res.message)


def _theta_to_law(theta: np.ndarray) -> dict[str, float]:
    """(log A, log B, log E, alpha, beta) -> the law's parameters; a degenerate optimum whose
    log A or log B lies past exp's range gives inf (the law then predicts no finite loss and
    callers report it as unconstrained) instead of raising OverflowError."""
    a, b, e, alpha, beta = (float(v) for v in theta)
    with np.errstate(over="ignore"):
        A, B, E = (float(np.exp(v)) for v in (a, b, e))
    return {"E": E, "A": A, "B": B, "alpha": alpha, "beta": beta}


def minimise_chinchilla(
    log_n: np.ndarray,
    log_d: np.ndarray,
    log_l: np.ndarray,
    weights: np.ndarray,
    *,
    starts: np.ndarray,
    delta: float,
    polish: int = 8,
) -> tuple[np.ndarray, float, np.ndarray, tuple[bool, str]]:
    """Best theta, its scaled objective, the distinct polished optima (best first) and the
    optimizer status (converged, message) of the best.

    Stage 1 runs every start in single precision (batched BFGS); stage 2 polishes the ``polish``
    best distinct end points (0.05 apart in max-norm of theta, objective within 1.5x of the
    best) in double precision with scipy L-BFGS-B and keeps the best.
    """
    fg32 = chinchilla_objective(log_n, log_d, log_l, weights, delta, dtype=np.float32)
    fg64 = chinchilla_objective(log_n, log_d, log_l, weights, delta)
    res = batched_bfgs(fg32, starts, ftol=1e-7)
    top = distinct_best(res.x, res.f, max(polish, 1), tol=0.05)
    if top.size == 0:
        raise UserError("chinchilla: the fit diverged from every start (check the data)")
    # Candidates far above the best are other basins (often degenerate ones where a term
    # vanishes); polishing them costs time and cannot win.
    top = top[res.f[top] <= 1.5 * res.f[top[0]] + 1e-9]
    polished = [_polish(fg64, res.x[i], 0) for i in top]
    thetas = np.array([p[0] for p in polished])
    values = np.array([p[1] for p in polished])
    keep = distinct_best(thetas, values, len(polished), tol=1e-3)  # best first, no duplicates
    status = polished[int(keep[0])][2:]
    return thetas[keep[0]], float(values[keep[0]]), thetas[keep], status


def bootstrap_chinchilla(
    log_n: np.ndarray,
    log_d: np.ndarray,
    log_l: np.ndarray,
    weights: np.ndarray,
    *,
    starts: np.ndarray,
    n_boot: int,
    delta: float,
    seed: int,
    grid: np.ndarray | None = None,
    n_grid: int = 0,
    clusters: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """theta (n_boot, 5) refitted on resamples of the rows drawn with replacement, and a mask of
    the resamples whose best end point converged at a finite value.

    Every resample is started from each of ``starts`` (the full fit's distinct optima) and from
    ``n_grid`` points drawn at random from ``grid`` (as Besiroglu et al. 2024 add best-of-5
    random grid starts to the warm start), and the best end point is kept; all resamples x
    starts run as one batched BFGS.
    """
    n = len(log_l)
    rng = np.random.default_rng(seed)
    if clusters is None:
        counts = rng.multinomial(n, np.full(n, 1.0 / n), size=n_boot).astype(float)
    else:  # resample whole clusters (e.g. the seeds of one grid point) with replacement
        _, code = np.unique(clusters, return_inverse=True)
        k_c = int(code.max()) + 1
        counts = rng.multinomial(k_c, np.full(k_c, 1.0 / k_c), size=n_boot)[:, code].astype(float)
    n_grid = 0 if grid is None else n_grid
    k = len(starts) + n_grid
    X0 = np.empty((n_boot, k, 5))
    X0[:, : len(starts)] = starts
    if n_grid:
        X0[:, len(starts) :] = grid[rng.integers(0, len(grid), size=(n_boot, n_grid))]
    W = np.repeat(counts * weights, k, axis=0)
    fg = chinchilla_objective(log_n, log_d, log_l, W, delta)
    res = batched_bfgs(fg, X0.reshape(n_boot * k, 5))
    f = res.f.reshape(n_boot, k)
    best = np.argmin(np.where(np.isfinite(f), f, np.inf), axis=1)
    rows = np.arange(n_boot)
    theta = res.x.reshape(n_boot, k, 5)[rows, best]
    ok = res.converged.reshape(n_boot, k)[rows, best] & np.isfinite(f[rows, best])
    ok &= np.isfinite(theta).all(axis=1)
    return theta, ok


def fit_chinchilla(
    params: ArrayLike,
    tokens: ArrayLike,
    loss: ArrayLike,
    *,
    huber_delta: float = 1e-3,
    n_starts: int | None = None,
    bootstrap: int = 0,
    seed: int = 0,
    weights: ArrayLike | None = None,
    ci: float = 0.95,
    grid: Mapping[str, Sequence[float]] | None = None,
    polish: int = 8,
    bootstrap_grid_starts: int = 5,
    holdout: str | None = None,
    clusters: ArrayLike | None = None,
) -> ChinchillaFit:
    """Fit L(N, D) = E + A/N^alpha + B/D^beta by Huber on log loss (Hoffmann et al. 2022, §3.3).

    Objective: sum_i w_i Huber_delta(LSE(a - alpha log N_i, b - beta log D_i, e) - log L_i),
    summed, not averaged (Besiroglu et al. 2024), from the start grid of Hoffmann et al.
    2022 App. D.2 (``n_starts=None``: all 4,500 points; an int: a seeded random subset).
    ``polish`` distinct optima of the batched run are refined with scipy L-BFGS-B.
    ``bootstrap`` > 0 refits that many resamples of the rows (with replacement), each from the
    full fit's distinct optima and ``bootstrap_grid_starts`` random grid points, and reports
    percentile intervals at coverage ``ci``. ``clusters`` (one label per row, e.g. the grid
    point of each seed replicate) makes the bootstrap resample whole clusters, so replicates
    of one point move together (the cluster bootstrap, Davison and Hinkley 1997, §3.8).
    ``holdout="largest"`` also fits without the largest model and reports the relative error
    of the predicted loss on it.
    """
    N = positive_array("params", params)
    D = positive_array("tokens", tokens)
    L = positive_array("loss", loss)
    n = same_length(params=N, tokens=D, loss=L)
    need_points("chinchilla", n, 5, "points (the law has 5 parameters)")
    w = np.ones(n) if weights is None else positive_array("weights", weights, allow_zero=True)
    same_length(loss=L, weights=w)
    if not huber_delta > 0:
        raise UserError(f"huber_delta: must be > 0, got {huber_delta!r}")
    if bootstrap < 0:
        raise UserError(f"bootstrap: must be >= 0, got {bootstrap}")
    ci = check_ci(ci)
    if holdout not in (None, "largest"):
        raise UserError(f"holdout: allowed values are None and 'largest', got {holdout!r}")

    log_n, log_d, log_l = np.log(N), np.log(D), np.log(L)
    starts = grid_starts(grid, n_starts, seed)
    theta, _, optima, (converged, message) = minimise_chinchilla(
        log_n, log_d, log_l, w, starts=starts, delta=huber_delta, polish=polish
    )
    log_hat = lse_log_loss(theta, log_n, log_d)[0]
    objective = float(np.sum(w * huber(log_hat - log_l, huber_delta)))
    r2 = r2_score(L, np.exp(log_hat))

    samples: dict[str, np.ndarray] = {}
    intervals: dict[str, tuple[float, float]] = {}
    n_failed = 0
    if bootstrap > 0:
        th, ok = bootstrap_chinchilla(
            log_n,
            log_d,
            log_l,
            w,
            starts=optima[:4],
            n_boot=bootstrap,
            delta=huber_delta,
            seed=seed + 1,
            grid=starts,
            n_grid=bootstrap_grid_starts,
            clusters=None if clusters is None else np.asarray(clusters).reshape(-1),
        )
        n_failed = int((~ok).sum())
        th = np.where(ok[:, None], th, np.nan)
        with np.errstate(over="ignore"):  # a degenerate resample may send log A past exp's range
            samples = {
                "E": np.exp(th[:, 2]),
                "A": np.exp(th[:, 0]),
                "B": np.exp(th[:, 1]),
                "alpha": th[:, 3],
                "beta": th[:, 4],
            }
        with np.errstate(divide="ignore", invalid="ignore"):
            samples["a"] = samples["beta"] / (samples["alpha"] + samples["beta"])
            samples["b"] = samples["alpha"] / (samples["alpha"] + samples["beta"])
        intervals = {k: percentile_interval(v, ci) for k, v in samples.items()}

    fit = ChinchillaFit(
        **_theta_to_law(theta),
        objective=objective,
        n_points=n,
        r2=r2,
        huber_delta=huber_delta,
        n_starts=len(starts),
        ci=ci,
        converged=bool(converged),
        optimizer_message=message,
        n_bootstrap_failed=n_failed,
        residuals=log_l - log_hat,
        intervals=intervals,
        bootstrap_samples=samples,
    )
    if holdout == "largest":
        from dataclasses import replace

        from scaling.fit.holdout import holdout_chinchilla

        kw = {"huber_delta": huber_delta, "n_starts": n_starts, "seed": seed, "grid": grid}
        fit = replace(fit, holdout=holdout_chinchilla(N, D, L, w, refit=fit_chinchilla, **kw))
    return fit
