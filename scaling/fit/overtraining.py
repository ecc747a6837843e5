"""The over-training scaling law of Gadre et al. 2024 and its fit.

Gadre et al. 2024, "Language models scale reliably with over-training and on downstream tasks"
(arXiv:2403.08540), §2: with the token multiplier M = D / N (tokens per parameter) and the
compute C = 6 N D, the loss is

    L(C, M) = E + (a M^eta + b M^-eta) C^-eta.

It is the Chinchilla law L(N, D) = E + A N^-alpha + B D^-beta (Hoffmann et al. 2022, eq. 2) with
alpha = beta = 2 eta: substituting N = (C / (6 M))^(1/2) and D = M N = (C M / 6)^(1/2) gives
A N^-2eta = A 6^eta M^eta C^-eta and B D^-2eta = B 6^eta M^-eta C^-eta, so a = A 6^eta and
b = B 6^eta (``OvertrainingLaw.as_chinchilla``). For a fixed M the reducible loss is a pure power
law in C with the same exponent eta for every M, which is what makes over-trained runs
extrapolable.

Fitting procedure, as the authors' code does it (mlfoundations/scaling, commit a003c49:
``scaling/laws.py`` ``powlaw_ours`` and ``curve_fit_powlaw_ours``): ordinary least squares on
the loss itself (not its log, no Huber), scipy ``curve_fit`` (Levenberg-Marquardt,
maxfev = 10,000) from each point of a 4 x 4 x 2 x 4 = 128-point start grid, keeping the fit with
the smallest residual. Their code writes the law as alpha_c N^k + beta_c 6^(k/2) (M N)^k + E
with k = -2 eta, i.e. a = alpha_c 6^eta and b = beta_c; ``GADRE_START_GRID`` is their grid in
those coordinates and ``start_points`` maps it to (E, a, b, eta).

Uncertainty (``bootstrap`` > 0), two schemes (Efron & Tibshirani 1993, "An Introduction to the
Bootstrap", ch. 9: resampling residuals for a fixed design vs resampling cases, and §6.5 for
the parametric bootstrap):

- ``"parametric"``: the design (which N and M were run) is held fixed and each resample is the
  fitted loss plus Gaussian noise of variance s^2 = RSS / (n - 4) (4 fitted parameters). This is
  the scheme for the paper's fitting set of 5 runs, where resampling the runs would leave fewer
  than 4 distinct design points in most resamples (P(at least 4 of 5 distinct) = 0.42). With
  n = 5 the noise level rests on one residual degree of freedom, so the interval is itself
  uncertain; it cannot be computed at all when n = 4.
- ``"pairs"``: rows resampled with replacement, for larger fitting sets.

Each refit starts from the full-data optimum and ``BOOTSTRAP_GRID_STARTS`` random points of the
start grid (the resample is close to the data, so the full fit's optimum is the natural start;
the same practice as ``scaling.fit.parametric.fit_chinchilla``'s bootstrap).
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from scaling.core.errors import UserError
from scaling.fit._common import (
    ArrayLike,
    check_ci,
    check_count,
    jsonable,
    need_points,
    percentile_interval,
    positive_array,
    r2_score,
    same_length,
    scalar_or_array,
)
from scaling.fit.parametric import ChinchillaLaw

PARAM_NAMES = ("E", "a", "b", "eta")

# mlfoundations/scaling scaling/laws.py ``curve_fit_powlaw_ours``: alpha_c, beta_c in
# {1e2, 3e2, 1e3, 3e3}, k in {-0.1, -0.3}, E in {0, 1, 2, 10} (their coordinates, see module doc).
GADRE_START_GRID: dict[str, tuple[float, ...]] = {
    "alpha_c": (1e2, 3e2, 1e3, 3e3),
    "beta_c": (1e2, 3e2, 1e3, 3e3),
    "k": (-0.1, -0.3),
    "E": (0.0, 1.0, 2.0, 10.0),
}
BOOTSTRAP_METHODS = ("parametric", "pairs")
# Random grid starts added to the full fit's optimum for each bootstrap refit (design choice, as
# ``fit_chinchilla``'s ``bootstrap_grid_starts`` default of 5).
BOOTSTRAP_GRID_STARTS = 5
# curve_fit's evaluation cap in the authors' code (scaling/laws.py: maxfev=10000).
MAXFEV = 10_000


def start_points(grid: dict[str, Sequence[float]] | None = None) -> list[tuple[float, ...]]:
    """The start grid as (E, a, b, eta) tuples: eta = -k / 2, a = alpha_c 6^eta, b = beta_c."""
    g = GADRE_START_GRID if grid is None else grid
    out = []
    for alpha_c, beta_c, k, e in itertools.product(g["alpha_c"], g["beta_c"], g["k"], g["E"]):
        eta = -k / 2.0
        out.append((float(e), float(alpha_c * 6.0**eta), float(beta_c), float(eta)))
    return out


def _loss(C: np.ndarray, M: np.ndarray, E: float, a: float, b: float, eta: float) -> np.ndarray:
    """E + (a M^eta + b M^-eta) C^-eta (Gadre et al. 2024, §2)."""
    with np.errstate(all="ignore"):
        return E + (a * M**eta + b * M ** (-eta)) * C ** (-eta)


@dataclass(frozen=True)
class OvertrainingLaw:
    """L(C, M) = E + (a M^eta + b M^-eta) C^-eta, M = D / N, C = 6 N D (Gadre et al. 2024, §2)."""

    E: float
    a: float
    b: float
    eta: float

    def predict(self, C: ArrayLike | float, M: ArrayLike | float) -> float | np.ndarray:
        """Loss at compute C (FLOPs, 6 N D) and token multiplier M (tokens per parameter)."""
        c = np.asarray(C, dtype=float)
        m = np.asarray(M, dtype=float)
        out = _loss(c, m, self.E, self.a, self.b, self.eta)
        return scalar_or_array(out, np.broadcast(c, m))

    def predict_nm(self, N: ArrayLike | float, M: ArrayLike | float) -> float | np.ndarray:
        """Loss of N parameters trained on M N tokens: C = 6 N^2 M."""
        n = np.asarray(N, dtype=float)
        m = np.asarray(M, dtype=float)
        out = _loss(6.0 * n * n * m, m, self.E, self.a, self.b, self.eta)
        return scalar_or_array(out, np.broadcast(n, m))

    def predict_nd(self, N: ArrayLike | float, D: ArrayLike | float) -> float | np.ndarray:
        """Loss of N parameters trained on D tokens: C = 6 N D, M = D / N."""
        n = np.asarray(N, dtype=float)
        d = np.asarray(D, dtype=float)
        out = _loss(6.0 * n * d, d / n, self.E, self.a, self.b, self.eta)
        return scalar_or_array(out, np.broadcast(n, d))

    def as_chinchilla(self) -> ChinchillaLaw:
        """The same law as E + A/N^alpha + B/D^beta: alpha = beta = 2 eta, A = a 6^-eta,
        B = b 6^-eta (module docstring)."""
        s = 6.0 ** (-self.eta)
        return ChinchillaLaw(self.E, self.a * s, self.b * s, 2 * self.eta, 2 * self.eta)

    def params(self) -> dict[str, float]:
        return {k: float(getattr(self, k)) for k in PARAM_NAMES}

    def to_dict(self) -> dict[str, Any]:
        return jsonable({"law": "overtraining", **self.params()})


@dataclass(frozen=True)
class OvertrainingFit(OvertrainingLaw):
    """A fitted over-training law: residual sum of squares on the loss, R^2, the noise level
    s = sqrt(RSS / (n - 4)) (NaN when n = 4), and the bootstrap (``bootstrap_method``,
    ``bootstrap_samples`` per parameter, NaN where a refit failed; ``intervals`` percentile
    intervals at coverage ``ci``, empty without bootstrap)."""

    n_points: int = 0
    rss: float = float("nan")
    r2: float = float("nan")
    noise_sd: float = float("nan")
    n_starts: int = 0
    ci: float = 0.95
    bootstrap_method: str = ""
    n_bootstrap_failed: int = 0
    residuals: np.ndarray = field(default_factory=lambda: np.empty(0), compare=False, repr=False)
    intervals: dict[str, tuple[float, float]] = field(default_factory=dict, compare=False)
    bootstrap_samples: dict[str, np.ndarray] = field(
        default_factory=dict, compare=False, repr=False
    )

    @property
    def law(self) -> OvertrainingLaw:
        return OvertrainingLaw(self.E, self.a, self.b, self.eta)

    def bootstrap_laws(self) -> list[OvertrainingLaw]:
        """One law per successful bootstrap refit (empty without bootstrap)."""
        s = self.bootstrap_samples
        if not s:
            return []
        laws = [OvertrainingLaw(*(float(s[k][i]) for k in PARAM_NAMES)) for i in range(len(s["E"]))]
        return [lw for lw in laws if all(math.isfinite(v) for v in lw.params().values())]

    def prediction_samples(self, N: ArrayLike | float, M: ArrayLike | float) -> np.ndarray:
        """Predicted loss of every bootstrap law at (N, M): shape (resamples, *shape of N, M)."""
        return np.array(
            [np.asarray(lw.predict_nm(N, M), dtype=float) for lw in self.bootstrap_laws()]
        )

    def prediction_interval(self, N: float, M: float) -> tuple[float, float] | None:
        """Percentile interval at coverage ``ci`` of the predicted loss at (N, M) over the
        bootstrap laws; None without bootstrap."""
        s = self.prediction_samples(N, M)
        return percentile_interval(s, self.ci) if s.size else None

    def to_dict(self) -> dict[str, Any]:
        return jsonable(
            {
                **super().to_dict(),
                "objective_kind": "sum of squared loss residuals (curve_fit, Levenberg-Marquardt)",
                "n_points": self.n_points,
                "rss": self.rss,
                "r2": self.r2,
                "noise_sd": self.noise_sd,
                "n_starts": self.n_starts,
                "ci": self.ci,
                "bootstrap_method": self.bootstrap_method,
                "n_bootstrap": len(self.bootstrap_samples.get("E", ())),
                "n_bootstrap_failed": self.n_bootstrap_failed,
                "intervals": {k: list(v) for k, v in self.intervals.items()},
                "as_chinchilla": self.as_chinchilla().params(),
                "residuals": self.residuals,
            }
        )


def _curve_fit(
    C: np.ndarray, M: np.ndarray, L: np.ndarray, starts: Sequence[Sequence[float]]
) -> tuple[np.ndarray, float, int]:
    """(E, a, b, eta), RSS and the number of starts that converged: the best least-squares fit
    over ``starts`` (scipy curve_fit from each, as the authors' ``curve_fit_powlaw_ours``)."""
    from scipy.optimize import OptimizeWarning, curve_fit

    def model(x: np.ndarray, E: float, a: float, b: float, eta: float) -> np.ndarray:
        return _loss(x[0], x[1], E, a, b, eta)

    x = np.vstack([C, M])
    best, best_rss, ok = None, math.inf, 0
    for p0 in starts:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", OptimizeWarning)
                warnings.simplefilter("ignore", RuntimeWarning)
                p, _ = curve_fit(model, x, L, p0=list(p0), maxfev=MAXFEV)
        except (RuntimeError, ValueError, FloatingPointError):  # no convergence / non-finite
            continue
        rss = float(np.sum((model(x, *p) - L) ** 2))
        if not (math.isfinite(rss) and np.isfinite(p).all()):
            continue
        ok += 1
        if rss < best_rss:
            best, best_rss = p, rss
    if best is None:
        return np.full(4, np.nan), math.nan, 0
    return np.asarray(best, dtype=float), best_rss, ok


def fit_overtraining(
    params: ArrayLike,
    multiplier: ArrayLike,
    loss: ArrayLike,
    *,
    starts: Sequence[Sequence[float]] | None = None,
    bootstrap: int = 0,
    bootstrap_method: str = "parametric",
    seed: int = 0,
    ci: float = 0.95,
) -> OvertrainingFit:
    """Fit L(C, M) = E + (a M^eta + b M^-eta) C^-eta (Gadre et al. 2024, §2) to runs of N
    ``params`` trained on M N tokens (``multiplier`` M = tokens per parameter), C = 6 N^2 M.

    Least squares on the loss from every start of ``starts`` (default: the authors' 128-point
    grid, ``start_points()``), keeping the best (module docstring). ``bootstrap`` > 0 adds
    percentile intervals from ``bootstrap_method`` "parametric" (fixed design, Gaussian noise of
    the fit's residual variance RSS / (n - 4); needs n >= 5) or "pairs" (rows resampled).
    ``UserError`` for bad input or when no start converges.
    """
    N, M, L = _runs(params, multiplier, loss)
    ci = check_ci(ci)
    _check_bootstrap(bootstrap, bootstrap_method, len(L))
    grid = _start_grid(starts)
    C = 6.0 * N * N * M
    theta, rss, _ = _curve_fit(C, M, L, grid)
    if not math.isfinite(rss):
        raise UserError(
            f"overtraining: no start of the {len(grid)} converged on these {len(L)} runs"
        )
    fitted = _loss(C, M, *theta)
    dof = len(L) - len(PARAM_NAMES)
    noise_sd = math.sqrt(rss / dof) if dof > 0 else math.nan
    samples: dict[str, np.ndarray] = {}
    n_failed = 0
    if bootstrap:
        samples, n_failed = _bootstrap(
            C, M, L, fitted, theta, grid, noise_sd, bootstrap, bootstrap_method, seed
        )
    return OvertrainingFit(
        *map(float, theta),
        n_points=len(L),
        rss=rss,
        r2=r2_score(L, fitted),
        noise_sd=noise_sd,
        n_starts=len(grid),
        ci=ci,
        bootstrap_method=bootstrap_method if bootstrap else "",
        n_bootstrap_failed=n_failed,
        residuals=L - fitted,
        intervals={k: percentile_interval(v, ci) for k, v in samples.items()},
        bootstrap_samples=samples,
    )


def _runs(
    params: ArrayLike, multiplier: ArrayLike, loss: ArrayLike
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(N, M, L) as positive float arrays of one length, at least 4 runs (the law's parameters);
    ``UserError`` naming the bad argument."""
    N = positive_array("params", params)
    M = positive_array("multiplier", multiplier)
    L = positive_array("loss", loss)
    n = same_length(params=N, multiplier=M, loss=L)
    need_points("overtraining", n, 4, "runs (the law has 4 parameters)")
    return N, M, L


def _check_bootstrap(bootstrap: int, method: str, n: int) -> None:
    """``UserError`` for a negative count, an unknown method, or a parametric bootstrap on 4 runs
    (its noise level RSS / (n - 4) needs a residual degree of freedom)."""
    check_count("bootstrap", bootstrap)
    if method not in BOOTSTRAP_METHODS:
        raise UserError(
            f"bootstrap_method: allowed values are {list(BOOTSTRAP_METHODS)}, got {method!r}"
        )
    if bootstrap and method == "parametric" and n <= 4:
        raise UserError(
            "overtraining: the parametric bootstrap needs at least 5 runs (its noise level is "
            f"RSS / (n - 4)), got {n}"
        )


def _start_grid(starts: Sequence[Sequence[float]] | None) -> list[tuple[float, ...]]:
    """``starts`` as float tuples (default: the authors' grid, ``start_points()``); ``UserError``
    when empty."""
    grid = [tuple(map(float, s)) for s in (starts if starts is not None else start_points())]
    if not grid:
        raise UserError("starts: give at least one (E, a, b, eta) start")
    return grid


def _bootstrap(
    C: np.ndarray,
    M: np.ndarray,
    L: np.ndarray,
    fitted: np.ndarray,
    theta: np.ndarray,
    grid: list[tuple[float, ...]],
    noise_sd: float,
    n_boot: int,
    method: str,
    seed: int,
) -> tuple[dict[str, np.ndarray], int]:
    """Per-parameter samples of ``n_boot`` refits (NaN where a refit failed) and the failures.
    A pairs resample with fewer than 4 distinct (C, M) design points cannot pin 4 parameters
    and counts as failed."""
    rng = np.random.default_rng(seed)
    out = np.full((n_boot, len(PARAM_NAMES)), np.nan)
    n = len(L)
    design = np.unique(np.vstack([C, M]).T, axis=0, return_inverse=True)[1].reshape(-1)
    for i in range(n_boot):
        picks = rng.choice(len(grid), size=min(BOOTSTRAP_GRID_STARTS, len(grid)), replace=False)
        starts = [tuple(theta), *(grid[j] for j in picks)]
        if method == "parametric":
            c, m, y = C, M, fitted + rng.normal(0.0, noise_sd, size=n)
        else:
            idx = rng.integers(0, n, size=n)
            if len(np.unique(design[idx])) < len(PARAM_NAMES):
                continue
            c, m, y = C[idx], M[idx], L[idx]
        p, rss, _ = _curve_fit(c, m, y, starts)
        if math.isfinite(rss):
            out[i] = p
    failed = int((~np.isfinite(out).all(axis=1)).sum())
    return {k: out[:, j] for j, k in enumerate(PARAM_NAMES)}, failed
