"""The Chinchilla law fitted by maximum likelihood under the Huber density (Epoch's fit).

Besiroglu et al. 2024 (arXiv:2404.10102, App. A; data_analysis.ipynb cells ``NwwVqy2CZ4Bq`` and
``Pyi4B06nLKpT``): the six numbers (a, b, e, alpha, beta, log sigma) maximise
sum_i log p(r_i), r_i = log L_i - LSE(a - alpha log N_i, b - beta log D_i, e) (the LSE form of
Hoffmann et al. 2022, App. D.2) and p the Huber density of ``scaling.fit.compare.density``.
With delta = 1e-3 the fitted sigma is about delta * mean|r| (~5e-6 on the Epoch data), so
delta * sigma is ~1e-8 and the density is, in effect, a Laplace density of scale mean|r|: the
estimate is close to a least-absolute-deviation fit, not to the Huber-loss fit of Hoffmann et
al. Their Table 1 reports this maximum-likelihood estimate.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from scaling.core.errors import UserError
from scaling.fit._common import (
    ArrayLike,
    huber,
    jsonable,
    need_points,
    positive_array,
    same_length,
)
from scaling.fit.compare.density import _check_delta, huber_log_normaliser, profile_sigma
from scaling.fit.parametric import (
    HOFFMANN_2022,
    PARAM_NAMES,
    ChinchillaLaw,
    fit_chinchilla,
    lse_log_loss,
)

# Epoch's fit of the Huber loss (delta = 1e-3) works on (log A, log B, log E, alpha, beta)
# [cell NwwVqy2CZ4Bq, ``untransform_params``]; theta is kept in that order.
_THETA_INDEX = {"A": 0, "B": 1, "E": 2, "alpha": 3, "beta": 4}  # (a, b, e, alpha, beta)


@dataclass(frozen=True)
class HuberLikelihoodFit(ChinchillaLaw):
    """The Chinchilla law fitted by maximum likelihood under the Huber density with scale sigma.

    ``free`` names the law's parameters that were fitted (sigma always is); the others are
    held at ``fixed``. ``n_params`` = len(free) + 1 counts sigma. ``aic`` = 2k - 2 log L
    (Akaike 1974) and ``bic`` = k log n - 2 log L (Schwarz 1978), k = ``n_params``.
    ``residuals`` are log L - log L_hat.
    """

    sigma: float = float("nan")
    log_likelihood: float = float("nan")
    n_points: int = 0
    delta: float = 1e-3
    free: tuple[str, ...] = ()
    fixed: Mapping[str, float] = field(default_factory=dict)
    converged: bool = True
    message: str = ""
    residuals: np.ndarray = field(default_factory=lambda: np.empty(0), compare=False, repr=False)
    data_key: str = field(default="", compare=False, repr=False)

    @property
    def law(self) -> ChinchillaLaw:
        """The estimate as a plain law."""
        return ChinchillaLaw(self.E, self.A, self.B, self.alpha, self.beta)

    @property
    def n_params(self) -> int:
        return len(self.free) + 1

    @property
    def aic(self) -> float:
        """Akaike 1974: 2k - 2 log L."""
        return 2.0 * self.n_params - 2.0 * self.log_likelihood

    @property
    def bic(self) -> float:
        """Schwarz 1978: k log n - 2 log L."""
        return self.n_params * math.log(max(self.n_points, 1)) - 2.0 * self.log_likelihood

    def to_dict(self) -> dict[str, Any]:
        return jsonable(
            {
                **super().to_dict(),
                "sigma": self.sigma,
                "log_likelihood": self.log_likelihood,
                "n_points": self.n_points,
                "delta": self.delta,
                "free": list(self.free),
                "fixed": dict(self.fixed),
                "n_params": self.n_params,
                "aic": self.aic,
                "bic": self.bic,
                "converged": self.converged,
                "message": self.message,
                "likelihood": f"Huber(delta={self.delta:g}) density of log residuals, scale sigma",
            }
        )


def _data(
    params: ArrayLike, tokens: ArrayLike, loss: ArrayLike, delta: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
    N = positive_array("params", params)
    D = positive_array("tokens", tokens)
    L = positive_array("loss", loss)
    n = same_length(params=N, tokens=D, loss=L)
    need_points("huber likelihood", n, 6, "points (5 law parameters and the scale)")
    key = hashlib.sha1(np.concatenate([N, D, L, [delta]]).tobytes()).hexdigest()
    return np.log(N), np.log(D), np.log(L), key


def _law_theta(law: ChinchillaLaw) -> np.ndarray:
    """(log A, log B, log E, alpha, beta) of a law (Hoffmann et al. 2022, App. D.2)."""
    if not (law.A > 0 and law.B > 0 and law.E > 0):
        raise UserError(f"law: A, B and E must be > 0 to take logs, got {law.params()}")
    return np.array([math.log(law.A), math.log(law.B), math.log(law.E), law.alpha, law.beta])


def _fixed_map(fixed: ChinchillaLaw | Mapping[str, float] | None) -> dict[str, float]:
    if fixed is None:
        return {}
    if isinstance(fixed, ChinchillaLaw):
        return fixed.params()
    bad = [k for k in fixed if k not in PARAM_NAMES]
    if bad:
        raise UserError(f"fixed: unknown parameters {bad}; allowed {list(PARAM_NAMES)}")
    out = {k: float(v) for k, v in fixed.items()}
    for k in ("E", "A", "B"):
        if k in out and not out[k] > 0:
            raise UserError(f"fixed: {k} must be > 0, got {out[k]!r}")
    return out


class _Likelihood:
    """-log L(theta, log sigma) and its gradient in the free components of theta."""

    def __init__(self, log_n: np.ndarray, log_d: np.ndarray, log_l: np.ndarray, delta: float):
        self.ln, self.ld, self.ll, self.delta = log_n, log_d, log_l, delta
        self.n = len(log_l)
        self.log_z = huber_log_normaliser(delta)

    def residuals(self, theta: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore", invalid="ignore"):
            return self.ll - lse_log_loss(theta, self.ln, self.ld)[0]

    def nll(self, theta: np.ndarray, s: float) -> float:
        r = self.residuals(theta)
        if not np.all(np.isfinite(r)):
            return float("inf")
        return float(np.sum(huber(r * math.exp(-s), self.delta)) + self.n * (s + self.log_z))

    def theta_step(self, theta: np.ndarray, s: float, free: np.ndarray) -> tuple[np.ndarray, str]:
        """Minimise sum_i H_delta(r_i / sigma) over the free theta at fixed sigma (scipy BFGS)."""
        from scipy.optimize import minimize

        inv_sigma = math.exp(-s)
        d = self.delta

        def fun(z: np.ndarray) -> tuple[float, np.ndarray]:
            th = theta.copy()
            th[free] = z
            t1 = th[0] - th[3] * self.ln
            t2 = th[1] - th[4] * self.ld
            t3 = np.full_like(t1, th[2])
            m = np.maximum(np.maximum(t1, t2), t3)
            with np.errstate(over="ignore", invalid="ignore"):
                e1, e2, e3 = np.exp(t1 - m), np.exp(t2 - m), np.exp(t3 - m)
                tot = e1 + e2 + e3
                x = (self.ll - m - np.log(tot)) * inv_sigma
            if not np.all(np.isfinite(x)):
                return float("inf"), np.zeros(len(z))
            f = float(np.sum(huber(x, d))) / self.n
            u = -np.clip(x, -d, d) * inv_sigma / (self.n * tot)  # dF/dLSE_i / tot_i
            g = np.array(
                [
                    np.sum(u * e1),
                    np.sum(u * e2),
                    np.sum(u * e3),
                    -np.sum(u * e1 * self.ln),
                    -np.sum(u * e2 * self.ld),
                ]
            )
            return f, g[free]

        res = minimize(
            fun,
            theta[free],
            jac=True,
            method="BFGS",
            options={"maxiter": 5000, "gtol": 1e-12, "xrtol": 1e-14},
        )
        out = theta.copy()
        if np.isfinite(res.fun):
            out[free] = res.x
        return out, str(res.message)


def _maximise(
    lik: _Likelihood, theta0: np.ndarray, free: np.ndarray, max_rounds: int = 30
) -> tuple[np.ndarray, float, float, bool, str]:
    """(theta, sigma, log L, converged, message) from one start.

    Alternates the theta step at fixed sigma with the exact sigma profile (``profile_sigma``),
    then polishes all free numbers and log sigma together with Nelder-Mead (the objective is
    nearly piecewise linear, which stops gradient methods at kinks; Epoch's BFGS also ended
    with "precision loss", cell Pyi4B06nLKpT). Stopping rules (30 rounds, a relative gain of
    1e-10 in log L, BFGS gtol 1e-12, Nelder-Mead xatol 1e-10 / fatol 1e-12) were checked on
    Epoch's 240 points: log L 879.7731 and their parameters to 1e-4, as in their notebook
    (tests/test_fit_compare.py, ``test_epoch_likelihood_fit_matches_notebook``).
    """
    from scipy.optimize import minimize

    theta = theta0.astype(float).copy()
    sigma, ll = profile_sigma(lik.residuals(theta), lik.delta)
    if free.size == 0:
        return theta, sigma, ll, True, "only the scale is fitted (exact profile)"
    message, converged = "", False
    for _ in range(max_rounds):
        cand, message = lik.theta_step(theta, math.log(sigma), free)
        r = lik.residuals(cand)
        if not np.all(np.isfinite(r)):
            break
        s_new, ll_new = profile_sigma(r, lik.delta)
        if ll_new < ll:  # no progress left at this sigma
            converged = True
            break
        gain = ll_new - ll
        theta, sigma, ll = cand, s_new, ll_new
        if gain <= 1e-10 * (1.0 + abs(ll)):
            converged = True
            break

    z0 = np.append(theta[free], math.log(sigma))

    def joint(z: np.ndarray) -> float:
        th = theta.copy()
        th[free] = z[:-1]
        return lik.nll(th, float(z[-1]))

    res = minimize(
        joint,
        z0,
        method="Nelder-Mead",
        options={"maxiter": 4000 * len(z0), "xatol": 1e-10, "fatol": 1e-12},
    )
    if np.isfinite(res.fun) and -res.fun > ll:
        theta = theta.copy()
        theta[free] = res.x[:-1]
        sigma, ll = profile_sigma(lik.residuals(theta), lik.delta)
        message = f"{message}; Nelder-Mead polish: {res.message}"
    return theta, sigma, ll, converged, message


def _default_starts(
    N: np.ndarray, D: np.ndarray, L: np.ndarray, n_starts: int | None, seed: int
) -> list[ChinchillaLaw]:
    """The Huber-loss fit (Hoffmann et al. 2022 App. D.2, delta 1e-3) and Hoffmann's estimates
    (Epoch's start, data_analysis.ipynb cell Pyi4B06nLKpT)."""
    return [fit_chinchilla(N, D, L, n_starts=n_starts, seed=seed).law, HOFFMANN_2022]


def huber_likelihood_fit(
    params: ArrayLike,
    tokens: ArrayLike,
    loss: ArrayLike,
    *,
    delta: float = 1e-3,
    fixed: ChinchillaLaw | Mapping[str, float] | None = None,
    starts: Sequence[ChinchillaLaw] | None = None,
    n_starts: int | None = 500,
    seed: int = 0,
) -> HuberLikelihoodFit:
    """Fit L(N, D) = E + A/N^alpha + B/D^beta and sigma by maximum likelihood (Epoch's method).

    log L = sum_i [-H_delta(r_i / sigma) - log Z(delta) - log sigma], r_i = log L_i -
    LSE(a - alpha log N_i, b - beta log D_i, e) (Besiroglu et al. 2024, data_analysis.ipynb
    cells NwwVqy2CZ4Bq and Pyi4B06nLKpT; LSE form of Hoffmann et al. 2022, App. D.2).

    ``fixed`` holds some of E, A, B, alpha, beta at given values (a ``ChinchillaLaw`` holds all
    five, and only sigma is fitted, as Epoch's ``scale_objective`` does for a published law).
    ``starts`` are laws to start from; by default the Huber-loss fit of Hoffmann et al.
    (``fit_chinchilla`` with delta 1e-3 and ``n_starts`` grid starts, ``None`` = all 4,500)
    and ``HOFFMANN_2022`` (Epoch started from Hoffmann's estimates). The best optimum is kept.
    """
    d = _check_delta(delta)
    log_n, log_d, log_l, key = _data(params, tokens, loss, d)
    fixed_map = _fixed_map(fixed)
    free_names = tuple(k for k in PARAM_NAMES if k not in fixed_map)
    free = np.array(sorted(_THETA_INDEX[k] for k in free_names), dtype=int)
    lik = _Likelihood(log_n, log_d, log_l, d)
    start_laws = _start_laws(starts, free, lik, n_starts, seed)
    theta, sigma, ll, converged, message = _best_of(lik, start_laws, fixed_map, free)
    with np.errstate(over="ignore"):
        A, B, E = (float(np.exp(theta[i])) for i in (0, 1, 2))
    return HuberLikelihoodFit(
        E=E,
        A=A,
        B=B,
        alpha=float(theta[3]),
        beta=float(theta[4]),
        sigma=sigma,
        log_likelihood=ll,
        n_points=len(log_l),
        delta=d,
        free=free_names,
        fixed=fixed_map,
        converged=converged,
        message=message,
        residuals=lik.residuals(theta),
        data_key=key,
    )


def _start_laws(
    starts: Sequence[ChinchillaLaw] | None,
    free: np.ndarray,
    lik: _Likelihood,
    n_starts: int | None,
    seed: int,
) -> list[ChinchillaLaw]:
    """The laws to start from: ``starts``, else ``_default_starts`` (``HOFFMANN_2022`` alone
    when nothing but sigma is free, since only its fixed values are used)."""
    if starts is None:
        if free.size:
            return _default_starts(np.exp(lik.ln), np.exp(lik.ld), np.exp(lik.ll), n_starts, seed)
        return [HOFFMANN_2022]  # only its fixed values are used
    start_laws = list(starts)
    if not start_laws or not all(isinstance(s, ChinchillaLaw) for s in start_laws):
        raise UserError("starts: give a non-empty list of ChinchillaLaw objects")
    return start_laws


def _best_of(
    lik: _Likelihood,
    start_laws: list[ChinchillaLaw],
    fixed_map: dict[str, float],
    free: np.ndarray,
) -> tuple[np.ndarray, float, float, bool, str]:
    """The highest likelihood over the starts (``_maximise`` from each, fixed values held)."""
    best: tuple[np.ndarray, float, float, bool, str] | None = None
    for law in start_laws:
        theta0 = _law_theta(ChinchillaLaw(**{**law.params(), **fixed_map}))
        try:
            out = _maximise(lik, theta0, free)
        except UserError:
            if free.size == 0:
                raise
            continue  # a start whose residuals are degenerate
        if best is None or out[2] > best[2]:
            best = out
    if best is None:
        raise UserError("huber likelihood: no start gave a finite likelihood (check the data)")
    return best
