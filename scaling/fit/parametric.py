"""Parametric loss law L(N, D) = E + A / N^alpha + B / D^beta (Chinchilla approach 3): the law,
the published fits and ``fit_chinchilla``.

Hoffmann et al. 2022, "Training Compute-Optimal Large Language Models", §3.3 eq. (2) and App. D.2:
the law is fitted in log-sum-exp form,

    log L_hat = LSE(a - alpha log N, b - beta log D, e),   A = exp(a), B = exp(b), E = exp(e),

by minimising the Huber loss (delta = 1e-3) of log L_hat - log L, with L-BFGS started from a grid
of initialisations. Besiroglu et al. 2024, "Chinchilla Scaling: A replication attempt"
(arXiv:2404.10102), show that the Huber terms must be *summed* (the published fit
averaged them, which stopped the optimiser before convergence) and refit the law on 240 points
read off Hoffmann et al.'s Fig. 4.

The objective, its start grid and the parameter transform are in
``scaling.fit.parametric_objective``; the fit runs on the engine ``scaling.fit.multistart``: the
4,500 starts are minimised together by a batched BFGS in single precision, the best few distinct
optima are polished with scipy L-BFGS-B, and bootstrap resamples (rows drawn with replacement,
each a vector of row counts) are solved as one batch too.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from scaling.core.errors import UserError
from scaling.fit._common import (
    ArrayLike,
    allocation_exponents,
    check_ci,
    check_count,
    huber,
    jsonable,
    need_points,
    percentile_interval,
    positive_array,
    r2_score,
    same_length,
    scalar_or_array,
)
from scaling.fit.multistart import Optima, Refits, percentile_intervals
from scaling.fit.parametric_objective import (  # noqa: F401 (re-exported: importers use these)
    _THETA,
    HOFFMANN_GRID,
    _theta_to_law,
    bootstrap_chinchilla,
    chinchilla_objective,
    chinchilla_problem,
    grid_starts,
    lse_log_loss,
    minimise_chinchilla,
    theta_samples,
)

if TYPE_CHECKING:
    from scaling.fit.holdout import HoldoutResult

PARAM_NAMES = ("E", "A", "B", "alpha", "beta")


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
        """Exponent of N_opt ∝ C^a (``fit._common.allocation_exponents``)."""
        return allocation_exponents(self.alpha, self.beta)[0]

    @property
    def b(self) -> float:
        """Exponent of D_opt ∝ C^b (``fit._common.allocation_exponents``)."""
        return allocation_exponents(self.alpha, self.beta)[1]

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


# --------------------------------------------------------------------------- fitting


def _checked_inputs(
    params: ArrayLike,
    tokens: ArrayLike,
    loss: ArrayLike,
    weights: ArrayLike | None,
    huber_delta: float,
    bootstrap: int,
    ci: float,
    holdout: str | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float]:
    """(N, D, L, weights, ci) checked; ``UserError`` naming the first bad argument."""
    N = positive_array("params", params)
    D = positive_array("tokens", tokens)
    L = positive_array("loss", loss)
    n = same_length(params=N, tokens=D, loss=L)
    need_points("chinchilla", n, 5, "points (the law has 5 parameters)")
    w = np.ones(n) if weights is None else positive_array("weights", weights, allow_zero=True)
    same_length(loss=L, weights=w)
    if not huber_delta > 0:
        raise UserError(f"huber_delta: must be > 0, got {huber_delta!r}")
    check_count("bootstrap", bootstrap)
    ci = check_ci(ci)
    if holdout not in (None, "largest"):
        raise UserError(f"holdout: allowed values are None and 'largest', got {holdout!r}")
    return N, D, L, w, ci


def _result(
    opt: Optima,
    refits: Refits | None,
    L: np.ndarray,
    w: np.ndarray,
    logs: tuple[np.ndarray, np.ndarray, np.ndarray],
    delta: float,
    ci: float,
    n_starts: int,
) -> ChinchillaFit:
    """The fit of the best optimum: objective (summed Huber, unscaled), R^2 on the loss, log
    residuals, and the bootstrap samples and intervals of the refits (none without)."""
    log_n, log_d, log_l = logs
    log_hat = lse_log_loss(opt.theta[0], log_n, log_d)[0]
    samples: dict[str, np.ndarray] = {}
    if refits is not None:
        samples = theta_samples(refits.masked())
    return ChinchillaFit(
        **_theta_to_law(opt.theta[0]),
        objective=float(np.sum(w * huber(log_hat - log_l, delta))),
        n_points=len(L),
        r2=r2_score(L, np.exp(log_hat)),
        huber_delta=delta,
        n_starts=n_starts,
        ci=ci,
        converged=bool(opt.converged),
        optimizer_message=opt.message,
        n_bootstrap_failed=0 if refits is None else refits.n_failed,
        residuals=log_l - log_hat,
        intervals=percentile_intervals(samples, ci),
        bootstrap_samples=samples,
    )


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
    full fit's distinct optima (up to 4) and ``bootstrap_grid_starts`` random grid points, and
    reports percentile intervals at coverage ``ci``. ``clusters`` (one label per row, e.g. the
    grid point of each seed replicate) makes the bootstrap resample whole clusters (the cluster
    bootstrap, Davison and Hinkley 1997, §3.8). ``holdout="largest"`` also fits without the
    largest model and reports the relative error of the predicted loss on it.
    """
    N, D, L, w, ci = _checked_inputs(
        params, tokens, loss, weights, huber_delta, bootstrap, ci, holdout
    )
    log_n, log_d, log_l = np.log(N), np.log(D), np.log(L)
    starts = grid_starts(grid, n_starts, seed)
    problem = chinchilla_problem(log_n, log_d, log_l, delta=huber_delta, polish=polish)
    opt = problem.minimise(w, starts)
    refits = None
    if bootstrap > 0:
        cl = None if clusters is None else np.asarray(clusters).reshape(-1)
        refits = problem.bootstrap(
            w,
            opt.theta[:4],
            bootstrap,
            seed + 1,
            clusters=cl,
            grid=starts,
            n_grid=bootstrap_grid_starts,
        )
    fit = _result(opt, refits, L, w, (log_n, log_d, log_l), huber_delta, ci, len(starts))
    if holdout == "largest":
        from scaling.fit.holdout import holdout_chinchilla

        kw = {"huber_delta": huber_delta, "n_starts": n_starts, "seed": seed, "grid": grid}
        fit = replace(fit, holdout=holdout_chinchilla(N, D, L, w, refit=fit_chinchilla, **kw))
    return fit
