"""IsoFLOP profiles (Chinchilla approach 2).

Hoffmann et al. 2022, §3.2: for each fixed FLOP budget, fit a parabola to the final loss as a
function of log N, take its minimum as the compute-optimal model size N_opt (and the matching
token count D_opt), then fit power laws N_opt ∝ C^a and D_opt ∝ C^b across budgets.

``method="spline"`` replaces the parabola by an Akima spline through log loss vs log N evaluated
on a dense grid, as Porian et al. 2024 do (formll/resolving-scaling-law-discrepancies,
analysis.py ``interpolation``: ``Akima1DInterpolator`` on 25 x (points - 1) grid values).
A budget is *interior* when it has at least ``min_points`` runs and its minimum lies strictly
inside the sampled N range; other budgets are kept in the result, flagged with a reason, and
left out of the exponent fits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from scaling.errors import UserError
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

METHODS = ("quadratic", "spline")


@dataclass(frozen=True)
class IsoFlopMinimum:
    """The loss minimum of one FLOP budget (Hoffmann et al. 2022, §3.2)."""

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
    budget's profile; ``objective`` is their sum of squares.
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
        return {
            "a (N_opt ∝ C^a)": (self.a, self.n_opt_law.interval),
            "b (D_opt ∝ C^b)": (self.b, self.d_opt_law.interval),
            "N_opt coef": (self.n_opt_law.coef, None),
            "D_opt coef": (self.d_opt_law.coef, None),
            "budgets used": (float(len(self.used)), None),
        }

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
            "n_bootstrap": len(next(iter(self.bootstrap_samples.values()), ())),
        }
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


def parabola_minimum(
    log_n: np.ndarray, loss: np.ndarray
) -> tuple[float, float, np.ndarray, str | None]:
    """Minimum of a least-squares parabola loss = c2 x^2 + c1 x + c0 in x = log N.

    Returns (x_opt, loss_opt, fitted loss at the data, reason or None). ``reason`` is set when
    the parabola opens downwards or its vertex lies outside the sampled range (Hoffmann et al.
    2022, §3.2 fits "a parabola to each IsoFLOPs curve").
    """
    xm = float(log_n.mean())
    x = log_n - xm
    c2, c1, c0 = np.polyfit(x, loss, 2)
    fitted = np.polyval([c2, c1, c0], x)
    if not c2 > 0:
        return float("nan"), float("nan"), fitted, "loss is not convex in log N (no minimum)"
    xs = -c1 / (2 * c2)
    loss_opt = float(c0 - c1 * c1 / (4 * c2))
    if not (x.min() < xs < x.max()):
        return xs + xm, loss_opt, fitted, "minimum outside the sampled N range"
    return float(xs + xm), loss_opt, fitted, None


def spline_minimum(
    log_n: np.ndarray, loss: np.ndarray, multiplier: int = 25
) -> tuple[float, float, np.ndarray, str | None]:
    """Minimum of an Akima spline of log loss vs log N (Porian et al. 2024, analysis.py).

    The spline is evaluated on ``multiplier * (k - 1)`` evenly spaced log-N values (k distinct
    N); a minimum at either end of the grid is outside the sampled range.
    """
    from scipy.interpolate import Akima1DInterpolator

    ux, inv = np.unique(log_n, return_inverse=True)
    ly = np.log(loss)
    uy = np.array([ly[inv == i].mean() for i in range(len(ux))])
    if len(ux) < 3:
        return float("nan"), float("nan"), loss.copy(), "fewer than 3 distinct model sizes"
    spline = Akima1DInterpolator(ux, uy)
    grid = np.linspace(ux[0], ux[-1], multiplier * (len(ux) - 1))
    vals = spline(grid)
    i = int(np.argmin(vals))
    fitted = np.exp(spline(log_n))
    reason = None if 0 < i < len(grid) - 1 else "minimum outside the sampled N range"
    return float(grid[i]), float(math.exp(vals[i])), fitted, reason


def budget_minimum(
    C: float,
    N: np.ndarray,
    L: np.ndarray,
    D: np.ndarray | None,
    *,
    method: str,
    min_points: int,
) -> tuple[IsoFlopMinimum, np.ndarray | None]:
    """The minimum of one budget and the profile's fitted loss at its runs (None if unusable)."""
    k = len(N)
    n_min, n_max = float(N.min()), float(N.max())
    nan = float("nan")
    if k < min_points or len(np.unique(N)) < 3:
        why = f"fewer than {min_points} runs" if k < min_points else "fewer than 3 distinct N"
        return IsoFlopMinimum(C, nan, nan, nan, k, False, why, n_min, n_max), None
    log_n = np.log(N)
    if method == "quadratic":
        x_opt, loss_opt, fitted, reason = parabola_minimum(log_n, L)
    else:
        x_opt, loss_opt, fitted, reason = spline_minimum(log_n, L)
    n_opt = math.exp(x_opt) if math.isfinite(x_opt) else nan
    if D is not None and math.isfinite(x_opt):
        c0, c1, _, _ = loglog_line(log_n, np.log(D))
        d_opt = math.exp(c0 + c1 * x_opt)
    else:
        d_opt = C / (6.0 * n_opt) if math.isfinite(n_opt) else nan
    m = IsoFlopMinimum(C, n_opt, d_opt, loss_opt, k, reason is None, reason, n_min, n_max)
    return m, fitted


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
        )
        outside_ok = (
            not exclude_outside
            and m.reason == "minimum outside the sampled N range"
            and math.isfinite(m.n_opt)
        )
        out.append(replace(m, used=m.interior or outside_ok))
        fits.append(fitted)
    return out, fits


def _laws(minima: list[IsoFlopMinimum], ci: float) -> tuple[PowerLaw, PowerLaw, PowerLaw, PowerLaw]:
    use = [m for m in minima if m.used]
    c = np.array([m.flops for m in use])
    n_law = fit_power_law(c, [m.n_opt for m in use], ci=ci)
    d_law = fit_power_law(c, [m.d_opt for m in use], ci=ci)
    l_law = fit_power_law(c, [m.loss_opt for m in use], ci=ci)
    r_law = fit_power_law(c, [m.tokens_per_param for m in use], ci=ci)
    return n_law, d_law, l_law, r_law


def _describe_unusable(minima: list[IsoFlopMinimum]) -> str:
    parts = [f"C={m.flops:.3g}: {m.reason}" for m in minima if not m.used]
    return "; ".join(parts[:6]) + (" ..." if len(parts) > 6 else "")


def fit_isoflop(
    flops: ArrayLike,
    params: ArrayLike,
    loss: ArrayLike,
    tokens: ArrayLike | None = None,
    *,
    budget: ArrayLike | None = None,
    method: str = "quadratic",
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
    relative tolerance ``rtol``. Each budget's loss is fitted against log N (``method``:
    "quadratic" parabola, or "spline" = Akima spline of log loss as in Porian et al. 2024);
    budgets with fewer than ``min_points`` runs or a minimum outside the sampled N range are
    flagged (``interior=False``, with a reason) and excluded from the power laws
    (``exclude_outside=False`` keeps the extrapolated vertex of an outside-range budget; each
    minimum's ``used`` says whether it entered the laws). D_opt is interpolated from ``tokens``
    when given, else C / (6 N_opt).

    Exponent intervals come from the regression standard error (Student t) unless
    ``bootstrap`` > 0: then runs are resampled with replacement within each budget, minima and
    laws are refitted, and the intervals are percentiles at coverage ``ci``.
    ``holdout="largest"`` also refits without the largest budget and reports the relative error
    of the predicted N_opt and minimum loss there.
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
    if bootstrap < 0:
        raise UserError(f"bootstrap: must be >= 0, got {bootstrap}")

    groups, C = group_budgets(C_run, budget, rtol)
    minima, fits = _minima(C, groups, N, L, D, method, min_points, None, exclude_outside)
    n_used = sum(m.used for m in minima)
    if n_used < 2:
        why = _describe_unusable(minima)
        raise UserError(
            f"isoflop: needs at least {min_points} runs at each of at least 2 FLOP budgets with "
            f"the loss minimum inside the sampled N range; usable budgets: {n_used} of "
            f"{len(minima)}" + (f" ({why})" if why else "")
        )
    n_law, d_law, l_law, r_law = _laws(minima, ci)

    used = [i for i, m in enumerate(minima) if m.used]
    idx = np.concatenate([np.flatnonzero(groups == g) for g in used])
    fitted = np.concatenate([fits[g] for g in used])
    resid = L[idx] - fitted
    r2 = r2_score(L[idx], fitted)

    samples: dict[str, np.ndarray] = {}
    if bootstrap > 0:
        samples = _bootstrap(
            C, groups, N, L, D, method, min_points, bootstrap, seed, exclude_outside
        )
        n_law = replace(
            n_law, interval=percentile_interval(samples["a"], ci), interval_method="bootstrap"
        )
        d_law = replace(
            d_law, interval=percentile_interval(samples["b"], ci), interval_method="bootstrap"
        )

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
                method=method,
                rtol=rtol,
                min_points=min_points,
                exclude_outside=exclude_outside,
            ),
        )
    return fit


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
) -> dict[str, np.ndarray]:
    """Exponents refitted on runs resampled with replacement within each budget."""
    rng = np.random.default_rng(seed)
    members = [np.flatnonzero(groups == g) for g in range(len(C))]
    a = np.full(n_boot, np.nan)
    b = np.full(n_boot, np.nan)
    for i in range(n_boot):
        index = [rng.choice(m, size=len(m), replace=True) for m in members]
        minima, _ = _minima(C, groups, N, L, D, method, min_points, index, exclude_outside)
        use = [m for m in minima if m.used]
        if len(use) < 2:
            continue
        c = np.log([m.flops for m in use])
        a[i] = loglog_line(c, np.log([m.n_opt for m in use]))[1]
        b[i] = loglog_line(c, np.log([m.d_opt for m in use]))[1]
    return {"a": a, "b": b}
