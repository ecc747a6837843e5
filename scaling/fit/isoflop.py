"""IsoFLOP profiles (Chinchilla approach 2).

Hoffmann et al. 2022, §3.2: for each fixed FLOP budget, fit a profile to the final loss as a
function of log N, take its minimum as the compute-optimal model size N_opt (and the matching
token count D_opt), then fit power laws N_opt ∝ C^a and D_opt ∝ C^b across budgets.

Profiles (``method``):

- ``"quadratic"``: a parabola in log N (Hoffmann et al. 2022, §3.2).
- ``"spline"``: an Akima spline through log loss vs log N evaluated on a dense grid, as Porian
  et al. 2024 do (formll/resolving-scaling-law-discrepancies, analysis.py ``interpolation``:
  ``Akima1DInterpolator`` on 25 x (points - 1) grid values).
- ``"varpro"``: the surface L(N, D) = E + A N^-alpha + B D^-beta fitted to every run by
  Variable Projection (Xu, Elmatad, Wang and Held 2026, "Problems with Chinchilla Approach 2:
  Systematic Biases in IsoFLOP Parabola Fits", arXiv:2603.22339): E, A, B >= 0 by
  non-negative least squares for each (alpha, beta) on a grid, the best cell refined by a
  bounded local optimiser (Nelder-Mead); each budget's minimum is then the surface's minimum
  along the budget's own (N, D) curve (see ``varpro_minimum``).

Per-budget diagnostics (``IsoFlopMinimum``): ``centring`` (position of log N_opt in the sampled
log-N range, 0.5 = centred), ``curvature`` (d^2 loss / d(log N)^2 of the profile at the
minimum), ``points_left`` / ``points_right`` (distinct sampled N strictly below / above N_opt).
A budget is *interior* when it has at least ``min_points`` runs and its minimum passes the gate
(``MIN_POINTS_EACH_SIDE`` sampled sizes on each side and curvature above ``MIN_CURVATURE``);
other budgets are kept in the result, flagged with a reason, and left out of the exponent fits.

With ``bootstrap`` > 0 the exponents follow Porian et al. 2024 (analysis.py ``power_law_fit(
weighted=True)``, ``bootstrap_weighted``): each budget gets sigma = the bootstrap standard
deviation of log N_opt (floored at ``SIGMA_FLOOR_FRACTION`` of the budget's log-N spacing, as
``vectorized_interp_with_seed_noise`` does; see ``_sigma`` for what differs), the point
estimate is the 1/sigma^2-weighted power law on the full-data minima, and the interval is the
percentile interval of the weighted refits over the resamples. Resamples that leave fewer than
two usable budgets or hit a numerical failure are counted in ``n_bootstrap_failed``.

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

import math
import warnings
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from scaling.core.errors import UserError
from scaling.fit._common import (
    ArrayLike,
    check_ci,
    jsonable,
    percentile_interval,
    positive_array,
    r2_score,
    same_length,
)
from scaling.fit.powerlaw import PowerLaw, fit_power_law, loglog_line

if TYPE_CHECKING:
    from scaling.fit.holdout import HoldoutResult

METHODS = ("quadratic", "spline", "varpro")
DEFAULT_METHOD = "spline"

# Gate on a budget's minimum. One sampled size on each side is the least that brackets a
# minimum (Hoffmann et al. 2022 §3.2 read minima off curves that turn upwards on both sides).
MIN_POINTS_EACH_SIDE = 1
# d^2 loss / d(log N)^2 must be strictly positive: a flat or concave profile has no minimum.
MIN_CURVATURE = 0.0
# Floor of sigma(log N_opt) as a fraction of the budget's mean log-N spacing: Porian et al.
# 2024, analysis.py (min_std_factor = 0.33 of the sampled grid spacing).
SIGMA_FLOOR_FRACTION = 0.33
# exp() overflows beyond this argument; an extrapolated vertex further out is no minimum.
_MAX_EXP = 700.0

# VarPro grid over (alpha, beta) and the bounds of the local refinement. Published fits of
# L = E + A N^-alpha + B D^-beta sit well inside (Hoffmann et al. 2022: 0.34, 0.28; Besiroglu
# et al. 2024: 0.35, 0.37); the grid covers (0, 2]. Bootstrap refits use the coarser grid plus
# the full-data optimum as a start.
VARPRO_GRID = np.linspace(0.05, 2.0, 40)
VARPRO_BOOTSTRAP_GRID = np.linspace(0.05, 2.0, 14)
VARPRO_BOUNDS = (1e-3, 4.0)

OUTSIDE = "minimum outside the sampled N range"


class _Profile(NamedTuple):
    """One budget's profile: minimum (x = log N), fitted loss at the runs, reason, curvature."""

    x_opt: float
    loss_opt: float
    fitted: np.ndarray
    reason: str | None
    curvature: float


@dataclass(frozen=True)
class IsoFlopMinimum:
    """The loss minimum of one FLOP budget (Hoffmann et al. 2022, §3.2) with diagnostics.

    ``centring``: (log N_opt - log N_min) / (log N_max - log N_min), 0.5 = centred sampling;
    ``curvature``: second derivative of the profile's loss w.r.t. log N at the minimum;
    ``points_left`` / ``points_right``: distinct sampled N strictly below / above N_opt;
    ``sigma_log_n``: the bootstrap sigma of log N_opt used as weight (NaN without bootstrap);
    ``n_bootstrap_valid``: resamples in which this budget had an interior minimum.
    """

    flops: float
    n_opt: float
    d_opt: float
    loss_opt: float
    n_points: int
    interior: bool
    reason: str | None = None
    n_min: float = float("nan")
    n_max: float = float("nan")
    used: bool = False  # entered the power laws
    centring: float = float("nan")
    curvature: float = float("nan")
    points_left: int = 0
    points_right: int = 0
    sigma_log_n: float = float("nan")
    n_bootstrap_valid: int = 0

    @property
    def tokens_per_param(self) -> float:
        """D_opt / N_opt at this budget."""
        return self.d_opt / self.n_opt if self.n_opt > 0 else float("nan")

    def to_dict(self) -> dict[str, Any]:
        return jsonable(
            {
                "flops": self.flops,
                "n_opt": self.n_opt,
                "d_opt": self.d_opt,
                "loss_opt": self.loss_opt,
                "tokens_per_param": self.tokens_per_param,
                "n_points": self.n_points,
                "interior": self.interior,
                "used": self.used,
                "reason": self.reason,
                "n_range": [self.n_min, self.n_max],
                "centring": self.centring,
                "curvature": self.curvature,
                "points_left": self.points_left,
                "points_right": self.points_right,
                "sigma_log_n": self.sigma_log_n,
                "n_bootstrap_valid": self.n_bootstrap_valid,
            }
        )


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
        """Closed-form exponent of N_opt ∝ C^a: beta / (alpha + beta) (Hoffmann eq. 4)."""
        return self.beta / (self.alpha + self.beta)

    @property
    def b(self) -> float:
        """Closed-form exponent of D_opt ∝ C^b: alpha / (alpha + beta) (Hoffmann eq. 4)."""
        return self.alpha / (self.alpha + self.beta)

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


@dataclass(frozen=True)
class IsoFlopFit:
    """Approach-2 result: per-budget minima and the power laws across interior budgets.

    ``n_opt_law``: N_opt = coef C^a; ``d_opt_law``: D_opt = coef C^b; ``loss_opt_law``: the
    minimum loss per budget as a pure power law in C (the form of Kaplan et al. 2020's
    L(C_min)), used for hold-out checks; ``tokens_per_param_law``: D_opt / N_opt = coef C^(b - a).
    ``d_opt_source`` says whether D_opt was read from the runs' token counts ("tokens",
    log-linear interpolation in log N within the budget) or set to C / (6 N_opt) ("C/(6N)").
    ``r2`` and ``residuals`` are on the loss of every run in the interior budgets against its
    budget's profile; ``objective`` is their sum of squares. ``weighting`` says how the power
    laws were fitted ("none", or "1/sigma^2 (bootstrap sigma of log N_opt)"); ``n_bootstrap``
    resamples were asked for and ``n_bootstrap_failed`` of them gave no exponent. ``surface``
    is the VarPro surface for ``method="varpro"``.
    """

    minima: tuple[IsoFlopMinimum, ...]
    n_opt_law: PowerLaw
    d_opt_law: PowerLaw
    loss_opt_law: PowerLaw
    tokens_per_param_law: PowerLaw
    method: str
    d_opt_source: str
    r2: float
    objective: float
    n_points: int
    residuals: np.ndarray = field(default_factory=lambda: np.empty(0), compare=False, repr=False)
    bootstrap_samples: dict[str, np.ndarray] = field(
        default_factory=dict, compare=False, repr=False
    )
    holdout: HoldoutResult | None = field(default=None, compare=False, repr=False)
    n_bootstrap: int = 0
    n_bootstrap_failed: int = 0
    weighting: str = "none"
    surface: VarProSurface | None = field(default=None, compare=False)

    @property
    def a(self) -> float:
        """Exponent of N_opt ∝ C^a."""
        return self.n_opt_law.exponent

    @property
    def b(self) -> float:
        """Exponent of D_opt ∝ C^b."""
        return self.d_opt_law.exponent

    @property
    def ci(self) -> float:
        """Coverage of the exponent intervals."""
        return self.n_opt_law.ci

    @property
    def interior(self) -> tuple[IsoFlopMinimum, ...]:
        """The budgets whose minimum lies inside the sampled N range."""
        return tuple(m for m in self.minima if m.interior)

    @property
    def used(self) -> tuple[IsoFlopMinimum, ...]:
        """The budgets used for the power laws (the interior ones unless told otherwise)."""
        return tuple(m for m in self.minima if m.used)

    @property
    def excluded(self) -> dict[float, str]:
        """flops -> reason, for the budgets left out of the power laws."""
        return {m.flops: m.reason or "" for m in self.minima if not m.used}

    @property
    def tokens_per_param(self) -> np.ndarray:
        """D_opt / N_opt at each budget used (in ``used`` order)."""
        return np.array([m.tokens_per_param for m in self.used])

    def compute_optimal(self, C: ArrayLike | float) -> tuple[float | np.ndarray, ...]:
        """(N_opt, D_opt) at compute C from the fitted power laws."""
        return self.n_opt_law.predict(C), self.d_opt_law.predict(C)

    def summary(self) -> dict[str, tuple[float, tuple[float, float] | None]]:
        """Fitted quantities with their intervals (coefficients: bootstrap percentiles of the
        refitted laws' coefficients); counts and diagnostics are in ``to_dict``."""
        s = self.bootstrap_samples
        ci = self.ci

        def coef_iv(key: str) -> tuple[float, float] | None:
            return percentile_interval(s[key], ci) if key in s else None

        out: dict[str, tuple[float, tuple[float, float] | None]] = {
            "a (N_opt ∝ C^a)": (self.a, self.n_opt_law.interval),
            "b (D_opt ∝ C^b)": (self.b, self.d_opt_law.interval),
            "N_opt coef": (self.n_opt_law.coef, coef_iv("n_coef")),
            "D_opt coef": (self.d_opt_law.coef, coef_iv("d_coef")),
        }
        if self.surface is not None:
            out["surface a = beta/(alpha+beta)"] = (self.surface.a, None)
        return out

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "law": "isoflop",
            "method": self.method,
            "d_opt_source": self.d_opt_source,
            "a": self.a,
            "b": self.b,
            "n_opt_law": self.n_opt_law.to_dict(),
            "d_opt_law": self.d_opt_law.to_dict(),
            "loss_opt_law": self.loss_opt_law.to_dict(),
            "tokens_per_param_law": self.tokens_per_param_law.to_dict(),
            "minima": [m.to_dict() for m in self.minima],
            "excluded": [{"flops": m.flops, "reason": m.reason} for m in self.minima if not m.used],
            "r2": self.r2,
            "objective": self.objective,
            "objective_kind": "sum of squared loss residuals against each budget's profile",
            "n_points": self.n_points,
            "n_bootstrap": self.n_bootstrap,
            "n_bootstrap_failed": self.n_bootstrap_failed,
            "weighting": self.weighting,
        }
        if self.surface is not None:
            out["surface"] = self.surface.to_dict()
        if self.holdout is not None:
            out["holdout"] = self.holdout.to_dict()
        return jsonable(out)


# --------------------------------------------------------------------------- grouping


def group_budgets(
    flops: np.ndarray, budget: ArrayLike | None = None, rtol: float = 1e-6
) -> tuple[np.ndarray, np.ndarray]:
    """(group index per run, budget C per group), groups sorted by C.

    Without ``budget``, runs whose FLOPs agree within relative tolerance ``rtol`` (consecutive
    gaps in sorted log FLOPs) share a budget whose C is their geometric mean. With ``budget``
    (one label per run), runs are grouped by label; C is the label when numeric, else the
    geometric mean of the group's FLOPs.
    """
    n = len(flops)
    if budget is None:
        order = np.argsort(flops, kind="stable")
        lf = np.log(flops[order])
        new = np.r_[True, np.diff(lf) > math.log1p(rtol)]
        grp_sorted = np.cumsum(new) - 1
        groups = np.empty(n, dtype=int)
        groups[order] = grp_sorted
        values = np.array(
            [math.exp(float(lf[grp_sorted == g].mean())) for g in range(grp_sorted[-1] + 1)]
        )
        return groups, values
    labels = np.asarray(budget).reshape(-1)
    if len(labels) != n:
        raise UserError(f"budget: expected {n} labels (one per run), got {len(labels)}")
    uniq, inv = np.unique(labels, return_inverse=True)
    try:
        vals = uniq.astype(float)
        if not (np.isfinite(vals).all() and (vals > 0).all()):
            raise ValueError
    except (TypeError, ValueError):
        vals = np.array([math.exp(float(np.log(flops[inv == g]).mean())) for g in range(len(uniq))])
    order = np.argsort(vals, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return rank[inv], vals[order]


# --------------------------------------------------------------------------- per-budget minimum


def _exp(v: float) -> float:
    """math.exp without OverflowError: inf beyond the float range, NaN for NaN."""
    if not math.isfinite(v):
        return float("nan") if math.isnan(v) else (float("inf") if v > 0 else 0.0)
    return math.exp(v) if v < _MAX_EXP else float("inf")


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


def _gate(
    reason: str | None, x_opt: float, curvature: float, ux: np.ndarray
) -> tuple[str | None, float, int, int]:
    """Apply the interior gate: (reason, centring, points_left, points_right)."""
    if not math.isfinite(x_opt):
        return reason, float("nan"), 0, 0
    left = int(np.sum(ux < x_opt))
    right = int(np.sum(ux > x_opt))
    span = float(ux[-1] - ux[0])
    centring = (x_opt - float(ux[0])) / span if span > 0 else float("nan")
    if reason is None:
        if left < MIN_POINTS_EACH_SIDE or right < MIN_POINTS_EACH_SIDE:
            reason = OUTSIDE
        elif not (math.isfinite(curvature) and curvature > MIN_CURVATURE):
            reason = "no positive curvature at the minimum"
    return reason, centring, left, right


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
    if k < min_points or len(ux) < 3:
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


def _positive(*values: float) -> bool:
    return all(math.isfinite(v) and v > 0 for v in values)


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


# --------------------------------------------------------------------------- VarPro surface


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
    from scipy.optimize import minimize

    N = positive_array("params", params)
    D = positive_array("tokens", tokens)
    L = positive_array("loss", loss)
    n = same_length(params=N, tokens=D, loss=L)
    if n < 4:
        raise UserError(f"varpro: needs at least 4 runs, got {n}")
    mx, my = float(np.log(N).mean()), float(np.log(D).mean())
    x, y = np.log(N) - mx, np.log(D) - my
    g = np.asarray(VARPRO_GRID if grid is None else grid, dtype=float)
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
    rss, al, be = best
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


# --------------------------------------------------------------------------- power laws


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
    from ``tokens`` when given, else C / (6 N_opt).

    ``bootstrap`` = 0: unweighted power laws, exponent intervals from the regression standard
    error (Student t). ``bootstrap`` > 0: runs are resampled with replacement within each
    budget and the minima refitted; the laws are weighted by 1/sigma^2 with sigma the bootstrap
    standard deviation of log N_opt (log D_opt for D_opt) per budget, and the exponent intervals
    are percentiles, at coverage ``ci``, of the weighted refits over the resamples (Porian et
    al. 2024, analysis.py ``bootstrap_weighted``). Resamples without an exponent are counted in
    ``n_bootstrap_failed``. ``holdout="largest"`` also refits without the largest budget and
    reports the relative error of the predicted N_opt and minimum loss there.
    """
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
    try:
        bootstrap = int(bootstrap)
    except (TypeError, ValueError):
        raise UserError(f"bootstrap: must be an integer >= 0, got {bootstrap!r}") from None
    if bootstrap < 0:
        raise UserError(f"bootstrap: must be >= 0, got {bootstrap}")

    groups, C = group_budgets(C_run, budget, rtol)
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
    r2 = r2_score(L[idx], fitted)

    samples: dict[str, np.ndarray] = {}
    n_failed = 0
    weighting = "none"
    if bootstrap == 0:
        n_law, d_law, l_law, r_law = _laws(minima, ci)
    else:
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

    fit = IsoFlopFit(
        minima=tuple(minima),
        n_opt_law=n_law,
        d_opt_law=d_law,
        loss_opt_law=l_law,
        tokens_per_param_law=r_law,
        method=method,
        d_opt_source="tokens" if D is not None else "C/(6N)",
        r2=r2,
        objective=float(np.sum(resid**2)),
        n_points=n,
        residuals=resid,
        bootstrap_samples=samples,
        n_bootstrap=bootstrap,
        n_bootstrap_failed=n_failed,
        weighting=weighting,
        surface=surface,
    )
    if holdout == "largest":
        from scaling.fit.holdout import holdout_isoflop

        fit = replace(
            fit,
            holdout=holdout_isoflop(
                fit,
                C_run,
                N,
                L,
                D,
                budget=budget,
                refit=fit_isoflop,
                groups=groups,
                method=method,
                rtol=rtol,
                min_points=min_points,
                exclude_outside=exclude_outside,
            ),
        )
    return fit


# --------------------------------------------------------------------------- bootstrap


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
