"""Data-constrained scaling law with repeated data and excess parameters.

Muennighoff et al. 2023, "Scaling Data-Constrained Language Models" (arXiv:2305.16264), §3.1
eqs. (5)-(7): the Chinchilla law is evaluated at an effective data D' and effective size N',

    L = E + A / N'^alpha + B / D'^beta,
    D' = U_D + U_D R_D* (1 - exp(-R_D / R_D*)),   R_D = D / U_D - 1   (repetitions),
    N' = U_N + U_N R_N* (1 - exp(-R_N / R_N*)),   R_N = N / U_N - 1   (excess parameters),

with U_D the unique tokens and U_N = min(N, N_u), N_u the compute-optimal model size for U_D
unique tokens under the base law (the N whose compute-optimal D equals U_D). The definitions of
U_N and R_N follow huggingface/datablations, utils/parametric_fit.ipynb (``scaling_law``:
``UN = np.minimum(N, optimal_N(D_to_C(U)))``, ``rn = np.maximum(N / UN - 1, 0)``) and the
repository README (``D_to_N``). The fit minimises the summed Huber (delta = 1e-3) of log
residuals in log-sum-exp form, as in the notebook's "Fitting" cell.

Published values (utils/parametric_fit.ipynb, cells "FIT CHINCHILLA C4 ISOFLOP DOTS" and "FIT OUR
DOTS ...", and README.md): the base law fitted on Chinchilla's C4 isoFLOP points with alpha tied
to beta, a, b, e, alpha = 6.255414, 7.3049974, 0.6254804, 0.3526596 (i.e. E = 1.87, A = 521,
B = 1488, alpha = beta = 0.353), and on the 182 default runs R_D* = 15.387756,
R_N* = 5.309743 (15.4 and 5.3 as rounded in the paper).

Base modes of ``fit_data_constrained`` (``base=``): "free" (all seven parameters), "tied"
(alpha = beta, six, as the paper's base fit), or fixed (a ``ChinchillaLaw``, a preset name or a
JSON law file, see ``scaling.fit.lawfile.load_law``; only R_D*, R_N* fitted, the paper's
procedure). With a fixed base, R_D* and R_N* get profile-objective intervals
(``profile_threshold``); every mode can bootstrap. Each parameter is checked for identification
(``DataConstrainedFit``): on the 182 runs with the paper's base the objective is flat in R_D*
up to 10x the largest R_D, so R_D* is reported as not identified (interval [4.5, inf)), and
the free fit's R_N* runs off to ~1e184.
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
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
from scaling.fit.parametric import MUENNIGHOFF_2023_BASE, ChinchillaLaw, grid_starts

if TYPE_CHECKING:
    from scaling.fit.holdout import HoldoutResult


# --------------------------------------------------------------------------- pure functions


def _decay(R: np.ndarray, R_star: np.ndarray | float) -> np.ndarray:
    """R* (1 - exp(-R / R*)): the value of R repetitions (Muennighoff et al. 2023, §3.1)."""
    return R_star * -np.expm1(-R / R_star)


def effective_data(
    tokens: ArrayLike | float, unique_tokens: ArrayLike | float, R_D_star: float
) -> float | np.ndarray:
    """D' = U_D + U_D R_D* (1 - exp(-R_D / R_D*)) (Muennighoff et al. 2023, §3.1 eqs. 5-7).

    U_D = min(U, D) unique tokens seen and R_D = D / U_D - 1 repetitions; D' = D when nothing
    is repeated.
    """
    D = np.asarray(tokens, dtype=float)
    U = np.minimum(np.asarray(unique_tokens, dtype=float), D)
    R = np.maximum(D / U - 1.0, 0.0)
    return scalar_or_array(U * (1.0 + _decay(R, R_D_star)), np.broadcast(D, U))


def unique_params(unique_tokens: ArrayLike | float, base: ChinchillaLaw) -> float | np.ndarray:
    """N_u: the compute-optimal N for U unique tokens under ``base``: G (G U)^(beta / alpha).

    From D_opt = G^-1 (C/6)^b and N_opt = G (C/6)^a (Hoffmann et al. 2022, eq. 4) with
    D_opt = U (huggingface/datablations README, ``D_to_N``).
    """
    U = np.asarray(unique_tokens, dtype=float)
    G = base.G
    return scalar_or_array(G * (G * U) ** (base.beta / base.alpha), unique_tokens)


def effective_params(
    params: ArrayLike | float,
    unique_tokens: ArrayLike | float,
    R_N_star: float,
    base: ChinchillaLaw,
    tokens: ArrayLike | float | None = None,
) -> float | np.ndarray:
    """N' = U_N + U_N R_N* (1 - exp(-R_N / R_N*)) (Muennighoff et al. 2023, §3.1 eqs. 5-7).

    U_N = min(N, N_u(U_D)) with N_u from ``unique_params`` and R_N = N / U_N - 1 excess
    parameters. ``tokens`` (optional) caps U_D = min(U, D).
    """
    N = np.asarray(params, dtype=float)
    U = np.asarray(unique_tokens, dtype=float)
    if tokens is not None:
        U = np.minimum(U, np.asarray(tokens, dtype=float))
    UN = np.minimum(N, np.asarray(unique_params(U, base)))
    R = np.maximum(N / UN - 1.0, 0.0)
    return scalar_or_array(UN * (1.0 + _decay(R, R_N_star)), np.broadcast(N, U))


@dataclass(frozen=True)
class DataConstrainedLaw:
    """L(N, D, U) = E + A / N'^alpha + B / D'^beta (Muennighoff et al. 2023, §3.1 eqs. 5-7)."""

    base: ChinchillaLaw
    R_D_star: float
    R_N_star: float

    def effective_data(self, D: ArrayLike | float, U: ArrayLike | float) -> float | np.ndarray:
        """D' (Muennighoff et al. 2023, §3.1)."""
        return effective_data(D, U, self.R_D_star)

    def effective_params(
        self, N: ArrayLike | float, U: ArrayLike | float, D: ArrayLike | float | None = None
    ) -> float | np.ndarray:
        """N' (Muennighoff et al. 2023, §3.1)."""
        return effective_params(N, U, self.R_N_star, self.base, tokens=D)

    def predict(
        self, N: ArrayLike | float, D: ArrayLike | float, U: ArrayLike | float
    ) -> float | np.ndarray:
        """Loss of N params trained on D tokens from U unique tokens (Muennighoff et al. 2023)."""
        n_eff = np.asarray(self.effective_params(N, U, D))
        d_eff = np.asarray(self.effective_data(D, U))
        return scalar_or_array(self.base.predict(n_eff, d_eff), np.broadcast(n_eff, d_eff))

    def params(self) -> dict[str, float]:
        return {**self.base.params(), "R_D_star": self.R_D_star, "R_N_star": self.R_N_star}

    def to_dict(self) -> dict[str, Any]:
        return jsonable({"law": "data_constrained", **self.params()})


# Muennighoff et al. 2023: base law (C4, alpha tied to beta) and R_D*, R_N* on the 182 runs
# (huggingface/datablations README.md and utils/parametric_fit.ipynb, see the module docstring).
MUENNIGHOFF_2023 = DataConstrainedLaw(
    base=MUENNIGHOFF_2023_BASE, R_D_star=15.387756, R_N_star=5.309743
)


# Names of the fitted quantities, in optimisation order per base mode (see ``_full_theta``).
BASE_MODES: tuple[str, ...] = ("free", "tied", "fixed")
R_STAR_NAMES: tuple[str, str] = ("R_D_star", "R_N_star")
_REP_NAMES = {"R_D_star": "R_D", "R_N_star": "R_N"}

# Identification limits for R_D*, R_N* (see ``DataConstrainedFit``):
# - R_STAR_MIN: below R* = 0.01 all repetitions together are worth at most 1% of U (D' <=
#   U (1 + R*), eqs. 5-7), so the data term B / D'^beta moves by under beta * 1% ~ 0.35% (beta =
#   0.353 in MUENNIGHOFF_2023_BASE), the size of one run's loss noise: smaller R* are all "worth
#   nothing" and cannot be told apart.
# - R_STAR_FLAT_FACTOR: with R* = 10 max(R) the decay R* (1 - exp(-R / R*)) stays within
#   1 - (1 - e^-0.1) / 0.1 = 4.8% of R at the largest R in the data, i.e. repetition has not
#   visibly started to decay anywhere in the sampled range; any larger R* is "never decays
#   here" (on the 182 datablations runs max R_D = 8999 epochs and max R_N = 214 under
#   MUENNIGHOFF_2023_BASE, so the limits are R_D* 9.0e4 and R_N* 2.1e3).
R_STAR_MIN: float = 1e-2
R_STAR_FLAT_FACTOR: float = 10.0
# Profile grid density: 12 points per decade of R*, then the crossings are refined by brentq.
PROFILE_POINTS_PER_DECADE: int = 12


@dataclass(frozen=True)
class DataConstrainedFit(DataConstrainedLaw):
    """A fitted data-constrained law.

    ``r2`` is on the loss (sklearn ``r2_score(loss, predicted)``, the computation of the
    datablations notebook after its "Fix r2 calculation" commit); ``r2_plain`` is the R^2 of
    the base law with no repetition correction (D' = D, N' = N) on the same points.
    ``base_mode`` is "free" (E, A, B, alpha, beta fitted jointly with R_D*, R_N*), "tied" (the
    same with alpha = beta, 6 parameters, as the paper's base fit) or "fixed" (base held, only
    R_D*, R_N* fitted, the paper's procedure); ``fitted_base`` is ``base_mode != "fixed"`` and
    ``base_source`` says where a fixed base came from.

    Uncertainty: ``intervals`` holds bootstrap percentile intervals (rows resampled with
    replacement; ``n_bootstrap_failed`` resamples whose refit did not converge or ended at a
    non-finite point are NaN in ``bootstrap_samples`` and left out). ``profile_intervals``
    (fixed base only) holds profile-objective intervals for R_D*, R_N*: the set of R* where the
    Huber objective, minimised over the other R*, stays within ``profile_threshold`` of its
    minimum (see ``profile_threshold``); a bound that runs off the profile grid
    [R_STAR_MIN, R_STAR_FLAT_FACTOR max(R)] is 0 (lower) or inf (upper). ``profiles`` holds the
    grid and objective - minimum for plotting.

    Identification: ``identified[name]`` is False when the estimate lies outside
    [R_STAR_MIN, R_STAR_FLAT_FACTOR x max R in the data] (``r_star_range``), when an interval
    bound (profile or bootstrap) does, or when the data hold no repetition (max R = 0) so R*
    has no effect; base parameters are not identified when non-finite, with a non-positive
    exponent or a non-finite bootstrap bound. ``notes`` says why, in words. ``summary()`` gives
    NaN (printed "-") as the value of a parameter that is not identified, and its interval
    with bounds outside the plausible range shown as 0 / inf. ``converged`` and
    ``optimizer_message`` are scipy L-BFGS-B's status for the final polish of the best optimum.
    """

    objective: float = float("nan")
    n_points: int = 0
    r2: float = float("nan")
    r2_plain: float = float("nan")
    fitted_base: bool = False
    huber_delta: float = 1e-3
    ci: float = 0.95
    base_mode: str = "fixed"
    base_source: str = ""
    converged: bool = True
    optimizer_message: str = ""
    n_bootstrap_failed: int = 0
    profile_threshold: float = float("nan")
    identified: dict[str, bool] = field(default_factory=dict, compare=False)
    notes: list[str] = field(default_factory=list, compare=False)
    max_repetitions: dict[str, float] = field(default_factory=dict, compare=False)
    r_star_range: dict[str, tuple[float, float]] = field(default_factory=dict, compare=False)
    profile_intervals: dict[str, tuple[float, float]] = field(default_factory=dict, compare=False)
    profiles: dict[str, tuple[np.ndarray, np.ndarray]] = field(
        default_factory=dict, compare=False, repr=False
    )
    residuals: np.ndarray = field(default_factory=lambda: np.empty(0), compare=False, repr=False)
    intervals: dict[str, tuple[float, float]] = field(default_factory=dict, compare=False)
    bootstrap_samples: dict[str, np.ndarray] = field(
        default_factory=dict, compare=False, repr=False
    )
    holdout: HoldoutResult | None = field(default=None, compare=False, repr=False)

    @property
    def law(self) -> DataConstrainedLaw:
        return DataConstrainedLaw(self.base, self.R_D_star, self.R_N_star)

    def fitted_names(self) -> list[str]:
        """The fitted quantities: all seven, or R_D*, R_N* with a fixed base."""
        return list(self.params()) if self.fitted_base else list(R_STAR_NAMES)

    def interval(self, name: str) -> tuple[float, float] | None:
        """The interval shown for ``name``: the profile interval when computed, else bootstrap."""
        return self.profile_intervals.get(name) or self.intervals.get(name)

    def summary(self) -> dict[str, tuple[float, tuple[float, float] | None]]:
        """name -> (value, interval or None); value NaN when not identified (see class doc)."""
        p = self.params()
        out: dict[str, tuple[float, tuple[float, float] | None]] = {}
        for k in self.fitted_names():
            iv = self.interval(k)
            if self.identified.get(k, True):
                out[k] = (p[k], iv)
                continue
            if iv is not None and k in self.r_star_range:
                lo_ok, hi_ok = self.r_star_range[k]
                iv = (iv[0] if iv[0] >= lo_ok else 0.0, iv[1] if iv[1] <= hi_ok else math.inf)
            out[k] = (float("nan"), iv)
        return out

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            **super().to_dict(),
            "fitted_base": self.fitted_base,
            "base_mode": self.base_mode,
            "base_source": self.base_source,
            "objective": self.objective,
            "objective_kind": f"sum of Huber(delta={self.huber_delta:g}) on log loss",
            "n_points": self.n_points,
            "r2": self.r2,
            "r2_plain": self.r2_plain,
            "converged": self.converged,
            "optimizer_message": self.optimizer_message,
            "ci": self.ci,
            "intervals": {k: list(v) for k, v in self.intervals.items()},
            "interval_method": {
                k: "profile" if k in self.profile_intervals else "bootstrap"
                for k in self.fitted_names()
                if self.interval(k) is not None
            },
            "profile_intervals": {k: list(v) for k, v in self.profile_intervals.items()},
            "profile_threshold": self.profile_threshold,
            "n_bootstrap": len(next(iter(self.bootstrap_samples.values()), ())),
            "n_bootstrap_failed": self.n_bootstrap_failed,
            "identified": dict(self.identified),
            "notes": list(self.notes),
            "max_repetitions": dict(self.max_repetitions),
            "r_star_range": {k: list(v) for k, v in self.r_star_range.items()},
            "residuals_log": self.residuals,
        }
        if self.holdout is not None:
            out["holdout"] = self.holdout.to_dict()
        return jsonable(out)


# --------------------------------------------------------------------------- objective


def _log_eff(R: np.ndarray, rho: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """q = log(1 + R*(1 - e^(-R/R*))) with R* = exp(rho), dq/drho and dq/dR (arrays (k, n))."""
    Rs = np.exp(rho)
    x = R / Rs
    ex = np.exp(-x)
    one_m = -np.expm1(-x)
    den = 1.0 + Rs * one_m
    q = np.log(den)
    dq_drho = Rs * (one_m - x * ex) / den
    dq_dR = ex / den
    return q, dq_drho, dq_dR


def dc_objective(
    log_n: np.ndarray,
    log_u: np.ndarray,
    r_d: np.ndarray,
    log_l: np.ndarray,
    weights: np.ndarray,
    delta: float,
    fixed_base: np.ndarray | None = None,
) -> BatchObjective:
    """Batched Huber objective / delta and gradient of the data-constrained law.

    theta rows are (a, b, e, alpha, beta, log R_D*, log R_N*) or, with ``fixed_base`` =
    (a, b, e, alpha, beta), just (log R_D*, log R_N*). ``log_u`` is log U_D and ``r_d`` the
    repetitions D / U_D - 1. log N' = log U_N + q_N with U_N = min(N, N_u(theta)) depends on
    the base parameters through N_u = G (G U)^(beta / alpha) (see ``unique_params``).
    """
    per_problem = weights.ndim == 2
    inv_delta = 1.0 / delta

    def fg(theta: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        with np.errstate(all="ignore"):  # invalid trial points come back as f = inf
            return _fg(theta, rows)

    def _fg(theta: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        k = theta.shape[0]
        if fixed_base is None:
            th = theta
        else:
            th = np.concatenate([np.broadcast_to(fixed_base, (k, 5)), theta], axis=1)
        a, b, e, al, be, rho_d, rho_n = (th[:, j : j + 1] for j in range(7))
        w = weights[rows] if per_problem else weights
        # effective data D'
        q_d, dqd_rho, _ = _log_eff(np.broadcast_to(r_d, (k, len(r_d))), rho_d)
        log_dp = log_u + q_d
        # effective params N': U_N = min(N, N_u)
        sab = al + be
        log_g = (np.log(al) - np.log(be) + a - b) / sab
        kk = be / al
        log_nu = (1.0 + kk) * log_g + kk * log_u
        excess = log_nu < log_n  # U_N = N_u < N
        log_un = np.where(excess, log_nu, log_n)
        r_n = np.expm1(log_n - log_un)  # N / U_N - 1 >= 0
        q_n, dqn_rho, dqn_dR = _log_eff(r_n, rho_n)
        log_np = log_un + q_n
        # log-sum-exp of the three terms
        t1 = a - al * log_np
        t2 = b - be * log_dp
        m = np.maximum(np.maximum(t1, t2), e)
        e1, e2, e3 = np.exp(t1 - m), np.exp(t2 - m), np.exp(e - m)
        s = e1 + e2 + e3
        r = m + np.log(s) - log_l
        u = np.clip(r * inv_delta, -1.0, 1.0)
        h = u * (r - 0.5 * delta * u) * w
        f = h.sum(axis=1)
        c = u * w / s
        p1, p2, p3 = c * e1, c * e2, c * e3  # df/dt1, df/dt2, df/de
        # d log N' / d log U_N through U_N and R_N = N / U_N - 1 (only where U_N = N_u)
        dlnp_dlnu = np.where(excess, 1.0 - (r_n + 1.0) * dqn_dR, 0.0)
        # d log N_u / d (a, b, alpha, beta)
        dlg_da = 1.0 / sab
        dlg_dal = (1.0 / al - log_g) / sab
        dlg_dbe = (-1.0 / be - log_g) / sab
        dnu_da = (1.0 + kk) * dlg_da
        dnu_dal = (1.0 + kk) * dlg_dal - (be / al**2) * (log_g + log_u)
        dnu_dbe = (1.0 + kk) * dlg_dbe + (1.0 / al) * (log_g + log_u)
        g1 = -al * p1 * dlnp_dlnu  # df / d log N_u
        g = np.empty((k, 7))
        g[:, 0] = (p1 + g1 * dnu_da).sum(axis=1)
        g[:, 1] = (p2 - g1 * dnu_da).sum(axis=1)
        g[:, 2] = p3.sum(axis=1)
        g[:, 3] = (-p1 * log_np + g1 * dnu_dal).sum(axis=1)
        g[:, 4] = (-p2 * log_dp + g1 * dnu_dbe).sum(axis=1)
        g[:, 5] = (-be * p2 * dqd_rho).sum(axis=1)
        g[:, 6] = (-al * p1 * dqn_rho).sum(axis=1)
        if fixed_base is not None:
            g = g[:, 5:]
        f = np.where(np.isfinite(f), f, np.inf)
        return f, g

    return chunked(fg, len(log_l))


def _theta_base(law: ChinchillaLaw) -> np.ndarray:
    return np.array([math.log(law.A), math.log(law.B), math.log(law.E), law.alpha, law.beta])


def _base_from_theta(th: np.ndarray) -> ChinchillaLaw:
    a, b, e, al, be = (float(v) for v in th[:5])
    with np.errstate(over="ignore"):  # a degenerate optimum gives inf, not OverflowError
        A, B, E = (float(np.exp(v)) for v in (a, b, e))
    return ChinchillaLaw(E=E, A=A, B=B, alpha=al, beta=be)


BaseSpec = ChinchillaLaw | str | os.PathLike[str] | None


def resolve_base(base: BaseSpec) -> tuple[str, ChinchillaLaw | None, str]:
    """(mode, fixed law or None, source) for ``fit_data_constrained``'s ``base`` argument.

    None or "free": all seven parameters fitted; "tied": alpha = beta (six parameters, as
    Muennighoff et al. 2023 fit their C4 base law, utils/parametric_fit.ipynb); a
    ``ChinchillaLaw`` (fixed); any other string or path: ``load_law`` (a preset name such as
    "muennighoff2023" or a JSON law file), fixed.
    """
    if base is None:
        return "free", None, "fitted jointly (7 parameters)"
    if isinstance(base, ChinchillaLaw):
        law = ChinchillaLaw(base.E, base.A, base.B, base.alpha, base.beta)
        source = "MUENNIGHOFF_2023_BASE" if law == MUENNIGHOFF_2023_BASE else "given law"
    elif isinstance(base, str | os.PathLike):
        key = str(base).strip().lower()
        if key == "free":
            return "free", None, "fitted jointly (7 parameters)"
        if key == "tied":
            return "tied", None, "fitted jointly with alpha = beta (6 parameters)"
        from scaling.fit.lawfile import load_law

        law = load_law(base)
        source = str(base)
    else:
        raise UserError(
            "base: give None, 'free', 'tied', a ChinchillaLaw, a preset name or a JSON law "
            f"file, got {type(base).__name__}"
        )
    p = law.params()
    bad = [k for k, v in p.items() if not (math.isfinite(v) and v > 0)]
    if bad:
        raise UserError(
            f"base ({source}): {bad[0]} must be finite and > 0 for a fixed base, got {p[bad[0]]!r}"
        )
    return "fixed", law, source


def _n_params(mode: str) -> int:
    return {"free": 7, "tied": 6, "fixed": 2}[mode]


def _full_theta(theta: np.ndarray, mode: str, fixed_base: np.ndarray | None) -> np.ndarray:
    """(k, P) optimisation vectors -> (k, 7) rows (a, b, e, alpha, beta, log R_D*, log R_N*).

    "free": the identity; "tied": (a, b, e, s, rho_d, rho_n) with alpha = beta = s; "fixed":
    (rho_d, rho_n) after the fixed base's five.
    """
    th = np.atleast_2d(theta)
    if mode == "free":
        return th
    if mode == "tied":
        return np.concatenate([th[:, :4], th[:, 3:4], th[:, 4:]], axis=1)
    assert fixed_base is not None
    return np.concatenate([np.broadcast_to(fixed_base, (th.shape[0], 5)), th], axis=1)


def _objective(
    mode: str,
    fixed_base: np.ndarray | None,
    log_n: np.ndarray,
    log_u: np.ndarray,
    r_d: np.ndarray,
    log_l: np.ndarray,
    weights: np.ndarray,
    delta: float,
) -> BatchObjective:
    """``dc_objective`` in the coordinates of ``mode`` (tied: d/ds = d/dalpha + d/dbeta)."""
    if mode != "tied":
        fb = fixed_base if mode == "fixed" else None
        return dc_objective(log_n, log_u, r_d, log_l, weights, delta, fixed_base=fb)
    fg7 = dc_objective(log_n, log_u, r_d, log_l, weights, delta)

    def fg(theta: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        f, g = fg7(_full_theta(theta, "tied", None), rows)
        return f, np.concatenate([g[:, :3], g[:, 3:4] + g[:, 4:5], g[:, 5:]], axis=1)

    return fg


# R* starts: the notebook used np.linspace(0, 20, 4) for both; here log-spaced and positive.
R_STAR_STARTS: tuple[float, ...] = (1.0, 3.0, 10.0, 30.0, 100.0)


def _starts(
    mode: str,
    n_starts: int | None,
    seed: int,
    r_star_starts: Sequence[tuple[float, float]] | None,
) -> np.ndarray:
    """Starting points: (log R_D*, log R_N*) pairs, times base-law grid points when joint."""
    if r_star_starts is None:
        pairs = list(itertools.product(R_STAR_STARTS, R_STAR_STARTS))
        joint_pairs = [(15.0, 5.0), (5.0, 5.0), (30.0, 15.0)]
    else:
        pairs = joint_pairs = [tuple(p) for p in r_star_starts]
        if not pairs or any(len(p) != 2 or not (p[0] > 0 and p[1] > 0) for p in pairs):
            raise UserError("r_star_starts: give (R_D*, R_N*) pairs of positive numbers")
    if mode == "fixed":
        return np.log(np.array(pairs, dtype=float))
    base = grid_starts(None, 300 if n_starts is None else n_starts, seed)
    if mode == "tied":  # Hoffmann grid points with beta set to alpha, without duplicates
        base = np.unique(base[:, :4], axis=0)
    base = base[(base[:, 3] > 0) & (base[:, -1] > 0)]  # alpha, beta = 0 make N_u undefined
    r_pick = np.log(np.array(joint_pairs, dtype=float))
    return np.array([np.r_[bb, rp] for bb in base for rp in r_pick])


def _polish(
    fg: BatchObjective, theta0: np.ndarray, row: int = 0
) -> tuple[np.ndarray, float, bool, str]:
    """scipy L-BFGS-B from ``theta0``: (theta, scaled objective, converged, message).

    ``converged`` is scipy's ``res.success``, or its "ABNORMAL" line-search exit with max |g| <
    1e-4 on the objective scaled by 1 / delta (the floor of floating point: no descent left),
    the rule of ``scaling.fit.parametric._polish``.
    """
    from scipy.optimize import minimize

    rows = np.array([row])

    def fun(t: np.ndarray) -> tuple[float, np.ndarray]:
        f, g = fg(t[None, :], rows)
        return float(f[0]), g[0]

    res = minimize(
        fun,
        theta0,
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": 5000, "maxfun": 10000, "ftol": 1e-15, "gtol": 1e-11},
    )
    f_end, g_end = fun(res.x)
    ok = bool(res.success) or bool(np.isfinite(f_end) and np.max(np.abs(g_end)) < 1e-4)
    return res.x, f_end, ok, str(res.message)


def _minimise(fg: BatchObjective, starts: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool, str]:
    """Distinct polished optima (best first), their scaled objectives, and the best's status."""
    res = batched_bfgs(fg, starts, ftol=1e-10)
    top = distinct_best(res.x, res.f, 4, tol=0.05)
    if top.size == 0:
        raise UserError("data_constrained: the fit diverged from every start (check the data)")
    top = top[res.f[top] <= 1.5 * res.f[top[0]] + 1e-9]
    polished = [_polish(fg, res.x[i]) for i in top]
    thetas = np.array([p[0] for p in polished])
    fs = np.array([p[1] for p in polished])
    keep = distinct_best(thetas, fs, len(polished), tol=1e-3)
    _, _, ok, msg = polished[int(keep[0])]
    return thetas[keep], fs[keep], ok, msg


def _max_repetitions(
    log_n: np.ndarray, log_u: np.ndarray, r_d: np.ndarray, base: ChinchillaLaw
) -> dict[str, float]:
    """Largest R_D = D / U_D - 1 and R_N = N / U_N - 1 in the data under ``base`` (§3.1)."""
    with np.errstate(all="ignore"):
        nu = np.asarray(unique_params(np.exp(log_u), base), dtype=float)
        r_n = np.maximum(np.exp(log_n) / np.minimum(np.exp(log_n), nu) - 1.0, 0.0)
    r_n = r_n[np.isfinite(r_n)]
    return {"R_D": float(r_d.max()), "R_N": float(r_n.max()) if r_n.size else 0.0}


# --------------------------------------------------------------------------- profile intervals


def profile_threshold(
    residuals: np.ndarray, delta: float, ci: float, weights: np.ndarray | None = None
) -> float:
    """Rise of the summed Huber objective that bounds a ``ci`` profile interval for one parameter.

    Robust likelihood-ratio ("drop-in-dispersion") test of Schrader & Hettmansperger 1980
    (Biometrika 67:93-101; for nonlinear and general models Heritier & Ronchetti 1994, JASA
    89:897-904): for an M-estimate minimising sum rho(r / s) the statistic
    2 [sum rho(r_0 / s) - sum rho(r / s)] E[psi'] / E[psi^2] is asymptotically chi^2 with one
    degree of freedom per restricted parameter. The objective here is
    F = sum Huber_delta(r) = s^2 sum rho_c(r / s) with c = delta / s for any scale s, so s
    cancels and the interval is {F_profile - F_min <= chi2_1(ci) / 2 * E[psi_d^2] / E[psi_d']}
    with psi_d(r) = clip(r, -delta, delta): E[psi_d^2] the mean of clip(r)^2 and E[psi_d'] =
    P(|r| <= delta). With delta = 1e-3 few residuals lie inside +-delta (3 of 182 on the
    datablations runs), so P(|r| <= delta) is taken from a Gaussian kernel density of the
    residuals (Silverman 1986, Density Estimation, eq. 3.31 bandwidth 0.9 min(sd, IQR / 1.34)
    n^(-1/5)) instead of the raw count; in the L1 limit this is 2 delta f(0) and the rule becomes
    the L1 likelihood-ratio test of Koenker & Bassett 1982 ("Tests of linear hypotheses and l1
    estimation", Econometrica 50:1577-1583), 4 f(0) times the drop in sum |r|. The residuals of
    a misspecified law are not i.i.d. noise, so the interval is a quasi-likelihood interval.

    Measured: at ci = 0.95 on the synthetic design of tests/test_fit_constrained.py (120 runs,
    1-60 epochs, R_D* = 12, R_N* = 4, MUENNIGHOFF_2023_BASE fixed) with 2% log noise, 60 data
    sets each, the profile intervals covered the true R_D* / R_N* in 97% / 98% of Gaussian and
    93% / 98% of Laplace data sets. On the 182 datablations runs the threshold is 4.1e-4
    (objective 0.0158).
    """
    from scipy.special import ndtr, ndtri

    r = np.asarray(residuals, dtype=float)
    w = np.ones_like(r) if weights is None else np.asarray(weights, dtype=float)
    keep = np.isfinite(r) & (w > 0)
    r, w = r[keep], w[keep]
    if r.size == 0:
        return float("nan")
    e_psi2 = float(np.average(np.clip(r, -delta, delta) ** 2, weights=w))
    if e_psi2 == 0.0:
        return 0.0  # an exact fit: no spread to bound anything by
    sd = float(np.sqrt(np.cov(r, aweights=w))) if r.size > 1 else 0.0
    q75, q25 = np.percentile(r, [75, 25])
    spread = min(sd, (q75 - q25) / 1.34) or sd
    h = 0.9 * spread * r.size**-0.2
    if h > 0:
        inside = ndtr((delta - r) / h) - ndtr((-delta - r) / h)
    else:
        inside = (np.abs(r) <= delta).astype(float)
    e_dpsi = float(np.average(inside, weights=w))
    if e_dpsi <= 0:
        return math.inf
    chi2_1 = float(ndtri(0.5 + ci / 2.0)) ** 2  # chi^2_1 quantile = z_((1+ci)/2)^2: 3.84 at 95%
    return chi2_1 / 2.0 * e_psi2 / e_dpsi


def _profile_values(
    fg: BatchObjective, j: int, xs: np.ndarray, others: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Scaled objective minimised over theta[1 - j] with theta[j] = each of ``xs`` (fixed base).

    Every x is started from each of ``others`` (values of theta[1 - j]); returns the best value
    and the minimising theta[1 - j] per x.
    """
    xs = np.atleast_1d(np.asarray(xs, dtype=float))
    others = np.atleast_1d(np.asarray(others, dtype=float))
    m, s = xs.size, others.size
    fixed_vals = np.repeat(xs, s)

    def fg1(t: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        th = np.empty((len(rows), 2))
        th[:, j] = fixed_vals[rows]
        th[:, 1 - j] = t[:, 0]
        f, g = fg(th, rows)
        return f, g[:, 1 - j : 2 - j]

    res = batched_bfgs(fg1, np.tile(others, m)[:, None], ftol=1e-12)
    f = np.where(np.isfinite(res.f), res.f, np.inf).reshape(m, s)
    best = np.argmin(f, axis=1)
    rows = np.arange(m)
    return f[rows, best], res.x[:, 0].reshape(m, s)[rows, best]


@dataclass(frozen=True)
class _Profile:
    """A profile of the scaled objective over log R*_j on a grid."""

    j: int
    xs: np.ndarray  # log R*_j
    f: np.ndarray  # scaled objective (objective / delta), minimised over the other R*
    other: np.ndarray  # the minimising log R*_(1-j)
    starts: np.ndarray  # starts of the other R* used on the grid


def _profile_grid(
    fg: BatchObjective, theta: np.ndarray, j: int, log_range: tuple[float, float]
) -> _Profile:
    """The profile of R*_j on ``PROFILE_POINTS_PER_DECADE`` log-spaced points of ``log_range``."""
    lo, hi = log_range
    n = max(math.ceil((hi - lo) / math.log(10) * PROFILE_POINTS_PER_DECADE) + 1, 8)
    xs = np.unique(np.r_[np.linspace(lo, hi, n), np.clip(theta[j], lo, hi)])
    starts = np.unique(np.r_[np.log(R_STAR_STARTS), theta[1 - j]])
    f, other = _profile_values(fg, j, xs, starts)
    return _Profile(j=j, xs=xs, f=f, other=other, starts=starts)


def _profile_interval(
    fg: BatchObjective, pr: _Profile, f_ref: float, threshold: float, delta: float
) -> tuple[tuple[float, float], bool]:
    """((lower, upper) in R*, disjoint): where delta (profile - f_ref) <= ``threshold``.

    ``f_ref`` is the lowest scaled objective found (fit or profile). The grid crossings are
    refined with brentq on the re-optimised profile; a side where the profile stays under the
    threshold to the grid's end gives 0 (lower) or inf (upper). ``disjoint``: the region under
    the threshold has gaps (a multimodal profile); the interval is then its hull.
    """
    from scipy.optimize import brentq

    xs, j = pr.xs, pr.j
    rise = delta * (pr.f - f_ref)
    tol = 1e-12 + 1e-9 * abs(delta * f_ref)  # summation rounding of the objective
    under = rise <= threshold + tol
    idx = np.flatnonzero(under)
    if idx.size == 0:  # only when f_ref came from the other profile: use the lowest point
        idx = np.array([int(np.argmin(rise))])
    i_lo, i_hi = int(idx[0]), int(idx[-1])

    def crossing(a: int, b: int) -> float:
        near = np.unique(np.r_[pr.starts, pr.other[a], pr.other[b]])

        def h(x: float) -> float:
            val = _profile_values(fg, j, np.array([x]), near)[0][0]
            return float(delta * (val - f_ref) - threshold)

        try:
            return float(brentq(h, xs[a], xs[b], xtol=1e-6))
        except ValueError:  # the re-optimised profile does not change sign: keep the grid point
            return float(xs[a] if under[a] else xs[b])

    lower = 0.0 if i_lo == 0 else math.exp(crossing(i_lo - 1, i_lo))
    upper = math.inf if i_hi == len(xs) - 1 else math.exp(crossing(i_hi, i_hi + 1))
    return (lower, upper), not bool(under[i_lo : i_hi + 1].all())


# --------------------------------------------------------------------------- identification


def _identify(
    names: Sequence[str],
    values: dict[str, float],
    r_star_range: dict[str, tuple[float, float]],
    max_rep: dict[str, float],
    profile_iv: dict[str, tuple[float, float]],
    boot_iv: dict[str, tuple[float, float]],
    ci: float,
) -> tuple[dict[str, bool], list[str]]:
    """identified[name] and notes (rules in the ``DataConstrainedFit`` docstring)."""
    ok: dict[str, bool] = {}
    notes: list[str] = []
    for k in names:
        v = values[k]
        if k in R_STAR_NAMES:
            rep = _REP_NAMES[k]
            lo_ok, hi_ok = r_star_range[k]
            why: list[str] = []
            if max_rep[rep] <= 0:
                why.append(f"no point has {rep} > 0, so {k} has no effect on the fit")
            elif not math.isfinite(v) or v > hi_ok:
                why.append(
                    f"estimate {v:.3g} exceeds {R_STAR_FLAT_FACTOR:g} x the largest {rep} in "
                    f"the data ({max_rep[rep]:.4g}): no decay of repetition value is visible"
                )
            elif v < lo_ok:
                why.append(f"estimate {v:.3g} is below {R_STAR_MIN:g}: repetitions worth nothing")
            for label, ivs in (("profile", profile_iv), ("bootstrap", boot_iv)):
                iv = ivs.get(k)
                if iv is None or max_rep[rep] <= 0:
                    continue
                if not (iv[1] <= hi_ok):
                    why.append(
                        f"the {ci:.0%} {label} interval's upper bound "
                        f"({_fmt_bound(iv[1])}) is past {hi_ok:.3g}"
                        + (" (the profile is flat to the grid's end)" if label == "profile" else "")
                    )
                if not (iv[0] >= lo_ok):
                    why.append(
                        f"the {ci:.0%} {label} interval's lower bound "
                        f"({_fmt_bound(iv[0])}) is below {lo_ok:g}"
                    )
            ok[k] = not why
            if why:
                notes.append(f"{k} not identified: " + "; ".join(why))
        else:
            bad = not math.isfinite(v) or (k in ("alpha", "beta") and v <= 0)
            iv = boot_iv.get(k)
            if iv is not None and not all(math.isfinite(b) for b in iv):
                bad = True
            ok[k] = not bad
            if bad:
                notes.append(f"{k} not identified: estimate {v:.4g}, interval {iv}")
    return ok, notes


def _fmt_bound(x: float) -> str:
    return "inf" if x == math.inf else f"{x:.3g}"


# --------------------------------------------------------------------------- fitting


def fit_data_constrained(
    params: ArrayLike,
    tokens: ArrayLike,
    unique_tokens: ArrayLike,
    loss: ArrayLike,
    *,
    base: BaseSpec = None,
    huber_delta: float = 1e-3,
    bootstrap: int = 0,
    seed: int = 0,
    ci: float = 0.95,
    weights: ArrayLike | None = None,
    n_starts: int | None = None,
    r_star_starts: Sequence[tuple[float, float]] | None = None,
    holdout: str | None = None,
    profile: bool = True,
) -> DataConstrainedFit:
    """Fit R_D*, R_N* (and the base law unless fixed) (Muennighoff et al. 2023, §3.1).

    ``base`` (see ``resolve_base``): None / "free" fits all seven parameters jointly from
    ``n_starts`` points of the Hoffmann et al. 2022 App. D.2 grid (default 300) times three R*
    pairs; "tied" does the same with alpha = beta (6 parameters); a ``ChinchillaLaw`` (e.g.
    ``MUENNIGHOFF_2023_BASE``), a preset name ("muennighoff2023", "hoffmann2022",
    "besiroglu2024") or a JSON law file holds the base fixed and fits only R_D*, R_N* -- the
    paper's procedure, whose base was fitted on Chinchilla's C4 isoFLOP points with alpha tied
    to beta. Objective: summed Huber(delta) of log residuals, log-sum-exp form.

    The objective has several local minima in (R_D*, R_N*) and is nearly flat in R_D*: the
    published 15.4 / 5.3 (reached by the notebook's torch L-BFGS from R* in np.linspace(0, 20,
    4)) is one of them, and on the 182 published runs the default starts find a slightly lower
    one at R_D* ~ 95, so read the intervals rather than the point. ``r_star_starts`` (pairs)
    overrides the default log-spaced grid ``R_STAR_STARTS`` x ``R_STAR_STARTS``.

    Intervals: ``profile`` (fixed base only) computes profile-objective intervals of R_D*, R_N*
    (``profile_threshold``); ``bootstrap`` > 0 resamples rows with replacement for percentile
    intervals. ``holdout="largest"`` refits without the largest model and reports the relative
    error of its predicted loss. Identification of each parameter is judged as described in
    ``DataConstrainedFit``.
    """
    N = positive_array("params", params)
    D = positive_array("tokens", tokens)
    U = positive_array("unique_tokens", unique_tokens)
    L = positive_array("loss", loss)
    n = same_length(params=N, tokens=D, unique_tokens=U, loss=L)
    mode, base_law, source = resolve_base(base)
    n_par = _n_params(mode)
    need_points(
        "data_constrained",
        n,
        n_par,
        "points (R_D*, R_N*)" if mode == "fixed" else f"points ({n_par} parameters)",
    )
    w = np.ones(n) if weights is None else positive_array("weights", weights, allow_zero=True)
    same_length(loss=L, weights=w)
    ci = check_ci(ci)
    if holdout not in (None, "largest"):
        raise UserError(f"holdout: allowed values are None and 'largest', got {holdout!r}")
    if bootstrap < 0:
        raise UserError(f"bootstrap: must be >= 0, got {bootstrap}")

    UD = np.minimum(U, D)
    log_n, log_u, log_l = np.log(N), np.log(UD), np.log(L)
    r_d = np.maximum(D / UD - 1.0, 0.0)
    fb = _theta_base(base_law) if base_law is not None else None
    fg = _objective(mode, fb, log_n, log_u, r_d, log_l, w, huber_delta)
    starts = _starts(mode, n_starts, seed, r_star_starts)
    optima, f_opt, converged, message = _minimise(fg, starts)

    def finish(theta: np.ndarray) -> tuple[DataConstrainedLaw, np.ndarray, float]:
        full = _full_theta(theta, mode, fb)[0]
        with np.errstate(over="ignore"):
            r_stars = (float(np.exp(full[5])), float(np.exp(full[6])))
        law = DataConstrainedLaw(_base_from_theta(full), *r_stars)
        with np.errstate(all="ignore"):
            pred = np.asarray(law.predict(N, D, U), dtype=float)
            obj = float(np.sum(w * huber(np.log(pred) - log_l, huber_delta)))
        return law, pred, obj

    law, pred, objective = finish(optima[0])
    residuals = log_l - np.log(pred)
    max_rep = _max_repetitions(log_n, log_u, r_d, law.base)
    r_star_range = {
        k: (R_STAR_MIN, max(R_STAR_FLAT_FACTOR * max_rep[_REP_NAMES[k]], R_STAR_MIN))
        for k in R_STAR_NAMES
    }
    notes: list[str] = []

    threshold = float("nan")
    profiles: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    profile_iv: dict[str, tuple[float, float]] = {}
    if mode == "fixed" and profile:
        threshold = profile_threshold(residuals, huber_delta, ci, w)
        grids: dict[str, _Profile] = {}
        for j, k in enumerate(R_STAR_NAMES):
            lo_ok, hi_ok = r_star_range[k]
            if max_rep[_REP_NAMES[k]] <= 0:  # R*_j has no effect: flat everywhere
                profile_iv[k] = (0.0, math.inf)
                continue
            log_range = (math.log(lo_ok), math.log(max(hi_ok, 10 * lo_ok)))
            grids[k] = _profile_grid(fg, optima[0], j, log_range)
        f_ref = min([float(f_opt[0])] + [float(pr.f.min()) for pr in grids.values()])
        if f_ref < f_opt[0] - 1e-9 * (1.0 + abs(f_opt[0])):
            k_low = min(grids, key=lambda k: grids[k].f.min())
            pr = grids[k_low]
            i = int(np.argmin(pr.f))
            at = {
                R_STAR_NAMES[pr.j]: math.exp(pr.xs[i]),
                R_STAR_NAMES[1 - pr.j]: math.exp(pr.other[i]),
            }
            notes.append(
                f"the profile reaches a lower objective ({huber_delta * f_ref:.7g} at R_D* = "
                f"{at['R_D_star']:.4g}, R_N* = {at['R_N_star']:.4g}) than the fit "
                f"({objective:.7g}), a local minimum; intervals are relative to the lower one"
            )
        for k, pr in grids.items():
            profile_iv[k], disjoint = _profile_interval(fg, pr, f_ref, threshold, huber_delta)
            profiles[k] = (np.exp(pr.xs), huber_delta * (pr.f - f_ref))
            if disjoint:
                notes.append(
                    f"{k}: the profile dips under the threshold in several basins; the interval"
                    " is their hull"
                )
    if not converged:
        notes.append(f"the optimiser did not report convergence: {message}")

    samples: dict[str, np.ndarray] = {}
    intervals: dict[str, tuple[float, float]] = {}
    n_failed = 0
    if bootstrap > 0:
        b_starts = optima[:3]
        if mode == "fixed":  # 2-D refits are cheap: add the default R* grid against multimodality
            b_starts = np.vstack([b_starts, _starts("fixed", None, seed, None)])
        samples, n_failed = _bootstrap(
            lambda W: _objective(mode, fb, log_n, log_u, r_d, log_l, W, huber_delta),
            mode,
            fb,
            w,
            b_starts,
            bootstrap,
            seed + 1,
        )
        intervals = {k: percentile_interval(v, ci) for k, v in samples.items()}
        if n_failed:
            notes.append(
                f"{n_failed} of {bootstrap} bootstrap refits failed (not converged or non-finite)"
                " and are left out of the intervals"
            )

    names = list(law.params()) if mode != "fixed" else list(R_STAR_NAMES)
    identified, id_notes = _identify(
        names, law.params(), r_star_range, max_rep, profile_iv, intervals, ci
    )
    if mode == "tied":
        notes.append("alpha is tied to beta (the paper's base-law fit)")
    if not profile_iv and not intervals:
        how = "pass bootstrap=..." if mode != "fixed" else "pass profile=True or bootstrap=..."
        notes.append(f"no interval computed ({how}): identification judged from the estimates")

    fit = DataConstrainedFit(
        base=law.base,
        R_D_star=law.R_D_star,
        R_N_star=law.R_N_star,
        objective=objective,
        n_points=n,
        r2=r2_score(L, pred),
        r2_plain=r2_score(L, np.asarray(law.base.predict(N, D))),
        fitted_base=mode != "fixed",
        huber_delta=huber_delta,
        ci=ci,
        base_mode=mode,
        base_source=source,
        converged=bool(converged),
        optimizer_message=message,
        n_bootstrap_failed=n_failed,
        profile_threshold=threshold,
        identified=identified,
        notes=id_notes + notes,
        max_repetitions=max_rep,
        r_star_range=r_star_range,
        profile_intervals=profile_iv,
        profiles=profiles,
        residuals=residuals,
        intervals=intervals,
        bootstrap_samples=samples,
    )
    if holdout == "largest":
        from scaling.fit.holdout import holdout_data_constrained

        kw = {
            "base": base_law if mode == "fixed" else mode,
            "huber_delta": huber_delta,
            "n_starts": n_starts,
            "seed": seed,
            "r_star_starts": r_star_starts,
            "profile": False,
        }
        fit = replace(
            fit, holdout=holdout_data_constrained(N, D, U, L, refit=fit_data_constrained, **kw)
        )
    return fit


def _bootstrap(
    make_fg: Callable[[np.ndarray], BatchObjective],
    mode: str,
    fixed_base: np.ndarray | None,
    w: np.ndarray,
    starts: np.ndarray,
    n_boot: int,
    seed: int,
) -> tuple[dict[str, np.ndarray], int]:
    """Refits on rows resampled with replacement, all resamples x starts in one batch.

    Returns the samples per parameter (NaN where a refit failed: the best start did not
    converge or ended at a non-finite point) and the number of failed resamples. log R* is
    capped at 700 so that a refit drifting towards R* = inf (no decay) keeps a finite, huge
    sample instead of overflowing.
    """
    n = len(w)
    rng = np.random.default_rng(seed)
    counts = rng.multinomial(n, np.full(n, 1.0 / n), size=n_boot).astype(float)
    k = len(starts)
    fg = make_fg(np.repeat(counts * w, k, axis=0))
    res = batched_bfgs(fg, np.tile(starts, (n_boot, 1)), ftol=1e-10)
    f = np.where(np.isfinite(res.f), res.f, np.inf).reshape(n_boot, k)
    best = np.argmin(f, axis=1)
    rows = np.arange(n_boot)
    th = res.x.reshape(n_boot, k, -1)[rows, best]
    ok = res.converged.reshape(n_boot, k)[rows, best] & np.isfinite(f[rows, best])
    ok &= np.isfinite(th).all(axis=1)
    full = _full_theta(th, mode, fixed_base)
    full[~ok] = np.nan
    full[:, 5:] = np.minimum(full[:, 5:], 700.0)
    with np.errstate(over="ignore"):
        out = {"R_D_star": np.exp(full[:, 5]), "R_N_star": np.exp(full[:, 6])}
        if mode != "fixed":
            out.update(
                {
                    "E": np.exp(full[:, 2]),
                    "A": np.exp(full[:, 0]),
                    "B": np.exp(full[:, 1]),
                    "alpha": full[:, 3],
                    "beta": full[:, 4],
                }
            )
    return out, int((~ok).sum())


# --------------------------------------------------------------------------- allocation


def compute_optimal_constrained(
    C: ArrayLike | float,
    unique_tokens: ArrayLike | float,
    fit: DataConstrainedLaw,
    *,
    ratio_range: float = 1e6,
) -> tuple[float | np.ndarray, float | np.ndarray]:
    """(N, D) minimising the data-constrained loss subject to 6 N D = C, U unique tokens.

    Muennighoff et al. 2023, §3.1 / Fig. 1 (right): with data limited to U, the optimum moves
    towards fewer parameters and more epochs. Solved numerically per (C, U): a dense scan of
    log N over D / N from 1/``ratio_range`` to ``ratio_range`` times the balanced point, then
    bounded Brent refinement (scipy.optimize.minimize_scalar).
    """
    from scipy.optimize import minimize_scalar

    Cb, Ub = np.broadcast_arrays(
        np.asarray(positive_array("C", C)).reshape(np.shape(C)),
        np.asarray(positive_array("unique_tokens", unique_tokens)).reshape(np.shape(unique_tokens)),
    )
    n_out = np.empty(Cb.shape)
    for idx in np.ndindex(Cb.shape):
        c, u = float(Cb[idx]), float(Ub[idx])
        half = 0.5 * math.log(c / 6.0)
        span = 0.5 * math.log(ratio_range)
        grid = np.linspace(half - span, half + span, 2001)

        def loss_at(log_n: np.ndarray | float, c: float = c, u: float = u) -> np.ndarray:
            nn = np.exp(log_n)
            return np.asarray(fit.predict(nn, c / (6.0 * nn), u))

        vals = loss_at(grid)
        i = int(np.nanargmin(vals))
        lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)]
        best = minimize_scalar(
            lambda x: float(loss_at(x)), bounds=(lo, hi), method="bounded", options={"xatol": 1e-10}
        )
        n_out[idx] = math.exp(best.x)
    d_out = Cb / (6.0 * n_out)
    if np.ndim(C) == 0 and np.ndim(unique_tokens) == 0:
        return float(n_out), float(d_out)
    return n_out, d_out
