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
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from scaling.errors import UserError
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
from scaling.fit.parametric import ChinchillaLaw, grid_starts

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
MUENNIGHOFF_2023_BASE = ChinchillaLaw(
    E=math.exp(0.6254804),
    A=math.exp(6.255414),
    B=math.exp(7.3049974),
    alpha=0.3526596,
    beta=0.3526596,
)
MUENNIGHOFF_2023 = DataConstrainedLaw(
    base=MUENNIGHOFF_2023_BASE, R_D_star=15.387756, R_N_star=5.309743
)


@dataclass(frozen=True)
class DataConstrainedFit(DataConstrainedLaw):
    """A fitted data-constrained law.

    ``r2`` is on the loss (sklearn ``r2_score(loss, predicted)``, the computation of the
    datablations notebook after its "Fix r2 calculation" commit); ``r2_plain`` is the R^2 of
    the base law with no repetition correction (D' = D, N' = N) on the same points.
    ``fitted_base`` says whether E, A, B, alpha, beta were fitted jointly or held fixed.
    """

    objective: float = float("nan")
    n_points: int = 0
    r2: float = float("nan")
    r2_plain: float = float("nan")
    fitted_base: bool = False
    huber_delta: float = 1e-3
    ci: float = 0.95
    residuals: np.ndarray = field(default_factory=lambda: np.empty(0), compare=False, repr=False)
    intervals: dict[str, tuple[float, float]] = field(default_factory=dict, compare=False)
    bootstrap_samples: dict[str, np.ndarray] = field(
        default_factory=dict, compare=False, repr=False
    )
    holdout: HoldoutResult | None = field(default=None, compare=False, repr=False)

    @property
    def law(self) -> DataConstrainedLaw:
        return DataConstrainedLaw(self.base, self.R_D_star, self.R_N_star)

    def summary(self) -> dict[str, tuple[float, tuple[float, float] | None]]:
        names = list(self.params()) if self.fitted_base else ["R_D_star", "R_N_star"]
        p = self.params()
        return {k: (p[k], self.intervals.get(k)) for k in names}

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            **super().to_dict(),
            "fitted_base": self.fitted_base,
            "objective": self.objective,
            "objective_kind": f"sum of Huber(delta={self.huber_delta:g}) on log loss",
            "n_points": self.n_points,
            "r2": self.r2,
            "r2_plain": self.r2_plain,
            "ci": self.ci,
            "intervals": {k: list(v) for k, v in self.intervals.items()},
            "n_bootstrap": len(next(iter(self.bootstrap_samples.values()), ())),
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
    return ChinchillaLaw(E=math.exp(e), A=math.exp(a), B=math.exp(b), alpha=al, beta=be)


# R* starts: the notebook used np.linspace(0, 20, 4) for both; here log-spaced and positive.
R_STAR_STARTS: tuple[float, ...] = (1.0, 3.0, 10.0, 30.0, 100.0)


def _starts(
    fixed: bool,
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
    if fixed:
        return np.log(np.array(pairs, dtype=float))
    base = grid_starts(None, 300 if n_starts is None else n_starts, seed)
    base = base[(base[:, 3] > 0) & (base[:, 4] > 0)]  # alpha, beta = 0 make N_u undefined
    r_pick = np.log(np.array(joint_pairs, dtype=float))
    return np.array([np.r_[bb, rp] for bb in base for rp in r_pick])


def _polish(fg: BatchObjective, theta0: np.ndarray, row: int = 0) -> tuple[np.ndarray, float]:
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
    return res.x, fun(res.x)[0]


def fit_data_constrained(
    params: ArrayLike,
    tokens: ArrayLike,
    unique_tokens: ArrayLike,
    loss: ArrayLike,
    *,
    base: ChinchillaLaw | None = None,
    huber_delta: float = 1e-3,
    bootstrap: int = 0,
    seed: int = 0,
    ci: float = 0.95,
    weights: ArrayLike | None = None,
    n_starts: int | None = None,
    r_star_starts: Sequence[tuple[float, float]] | None = None,
    holdout: str | None = None,
) -> DataConstrainedFit:
    """Fit R_D*, R_N* (and the base law when ``base`` is None) (Muennighoff et al. 2023, §3.1).

    With ``base`` (e.g. ``MUENNIGHOFF_2023_BASE``) only R_D* and R_N* are fitted, as in the
    paper; without it all seven parameters are fitted jointly from ``n_starts`` points of the
    Hoffmann et al. 2022 App. D.2 grid (default 300) times three R* pairs. Objective: summed
    Huber(delta) of log residuals, log-sum-exp form. The objective has several local minima in
    (R_D*, R_N*): the published 15.4 / 5.3 (reached by the notebook's torch L-BFGS from R* in
    np.linspace(0, 20, 4)) is one of them, and on the 182 published runs the default starts
    find a slightly lower one. ``r_star_starts`` (pairs) overrides the default log-spaced grid
    ``R_STAR_STARTS`` x ``R_STAR_STARTS``. ``bootstrap`` > 0 resamples rows with
    replacement for percentile intervals; ``holdout="largest"`` refits without the largest
    model and reports the relative error of its predicted loss.
    """
    N = positive_array("params", params)
    D = positive_array("tokens", tokens)
    U = positive_array("unique_tokens", unique_tokens)
    L = positive_array("loss", loss)
    n = same_length(params=N, tokens=D, unique_tokens=U, loss=L)
    fixed = base is not None
    need_points(
        "data_constrained",
        n,
        2 if fixed else 7,
        "points (R_D*, R_N*)" if fixed else "points (7 parameters)",
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
    fb = _theta_base(base) if fixed else None
    fg = dc_objective(log_n, log_u, r_d, log_l, w, huber_delta, fixed_base=fb)
    starts = _starts(fixed, n_starts, seed, r_star_starts)
    res = batched_bfgs(fg, starts, ftol=1e-10)
    top = distinct_best(res.x, res.f, 4, tol=0.05)
    if top.size == 0:
        raise UserError("data_constrained: the fit diverged from every start (check the data)")
    top = top[res.f[top] <= 1.5 * res.f[top[0]] + 1e-9]
    polished = [_polish(fg, res.x[i]) for i in top]
    thetas = np.array([th for th, _ in polished])
    keep = distinct_best(thetas, np.array([f for _, f in polished]), len(polished), tol=1e-3)
    optima = thetas[keep]  # best first, no duplicates
    theta = optima[0]
    full = theta if not fixed else np.r_[fb, theta]
    law = DataConstrainedLaw(_base_from_theta(full), math.exp(full[5]), math.exp(full[6]))
    pred = np.asarray(law.predict(N, D, U))
    objective = float(np.sum(w * huber(np.log(pred) - log_l, huber_delta)))

    samples: dict[str, np.ndarray] = {}
    intervals: dict[str, tuple[float, float]] = {}
    if bootstrap > 0:
        samples = _bootstrap(
            log_n,
            log_u,
            r_d,
            log_l,
            w,
            huber_delta,
            fb,
            optima[:3],
            bootstrap,
            seed + 1,
        )
        intervals = {k: percentile_interval(v, ci) for k, v in samples.items()}

    fit = DataConstrainedFit(
        base=law.base,
        R_D_star=law.R_D_star,
        R_N_star=law.R_N_star,
        objective=objective,
        n_points=n,
        r2=r2_score(L, pred),
        r2_plain=r2_score(L, np.asarray(law.base.predict(N, D))),
        fitted_base=not fixed,
        huber_delta=huber_delta,
        ci=ci,
        residuals=log_l - np.log(pred),
        intervals=intervals,
        bootstrap_samples=samples,
    )
    if holdout == "largest":
        from scaling.fit.holdout import holdout_data_constrained

        kw = {
            "base": base,
            "huber_delta": huber_delta,
            "n_starts": n_starts,
            "seed": seed,
            "r_star_starts": r_star_starts,
        }
        fit = replace(fit, holdout=holdout_data_constrained(N, D, U, L, **kw))
    return fit


def _bootstrap(
    log_n: np.ndarray,
    log_u: np.ndarray,
    r_d: np.ndarray,
    log_l: np.ndarray,
    w: np.ndarray,
    delta: float,
    fixed_base: np.ndarray | None,
    starts: np.ndarray,
    n_boot: int,
    seed: int,
) -> dict[str, np.ndarray]:
    """Refits on rows resampled with replacement, all resamples x starts in one batch."""
    n = len(log_l)
    rng = np.random.default_rng(seed)
    counts = rng.multinomial(n, np.full(n, 1.0 / n), size=n_boot).astype(float)
    k = len(starts)
    W = np.repeat(counts * w, k, axis=0)
    fg = dc_objective(log_n, log_u, r_d, log_l, W, delta, fixed_base=fixed_base)
    res = batched_bfgs(fg, np.tile(starts, (n_boot, 1)), ftol=1e-10)
    f = res.f.reshape(n_boot, k)
    best = np.argmin(np.where(np.isfinite(f), f, np.inf), axis=1)
    th = res.x.reshape(n_boot, k, -1)[np.arange(n_boot), best]
    out = {"R_D_star": np.exp(th[:, -2]), "R_N_star": np.exp(th[:, -1])}
    if fixed_base is None:
        out.update(
            {
                "E": np.exp(th[:, 2]),
                "A": np.exp(th[:, 0]),
                "B": np.exp(th[:, 1]),
                "alpha": th[:, 3],
                "beta": th[:, 4],
            }
        )
    return out


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
