"""The Huber density of log residuals with a fitted scale (Besiroglu et al. 2024, App. A).

Besiroglu, Erdil, Barnett & You 2024, "Chinchilla Scaling: A replication attempt"
(arXiv:2404.10102), code epoch-research/analyzing-chinchilla, ``data_analysis.ipynb`` cell
``NwwVqy2CZ4Bq``: the log residual r has the density of the Huber loss normalised on the real
line, log p(r) = -H_delta(r / sigma) - log Z(delta) - log sigma, with
Z(delta) = sqrt(2 pi) erf(delta / sqrt 2) + 2 exp(-delta^2 / 2) / delta. ``profile_sigma`` is
the scale that maximises it for fixed residuals (Epoch's ``scale_objective``).
"""

from __future__ import annotations

import math

import numpy as np

from scaling.core.errors import UserError
from scaling.fit._common import ArrayLike, huber


def _check_delta(delta: float) -> float:
    try:
        d = float(delta)
    except (TypeError, ValueError):
        d = float("nan")
    if isinstance(delta, bool) or not (math.isfinite(d) and d > 0):
        raise UserError(f"delta: must be a finite number > 0 (Epoch used 1e-3), got {delta!r}")
    return d


def huber_log_normaliser(delta: float) -> float:
    """log Z(delta), Z = integral of exp(-H_delta(x)) dx over the real line.

    Z = sqrt(2 pi) erf(delta / sqrt 2) + 2 exp(-delta^2 / 2) / delta: the quadratic core plus
    two exponential tails (Besiroglu et al. 2024, data_analysis.ipynb cell NwwVqy2CZ4Bq,
    ``huber_normalizing_factor``, written there as sqrt(2 pi) (1 - 2 Phi(-delta)) + ...).
    """
    from scipy.special import erf

    d = _check_delta(delta)
    return float(np.log(np.sqrt(2 * np.pi) * erf(d / np.sqrt(2)) + 2 * np.exp(-0.5 * d * d) / d))


def huber_logpdf(residuals: ArrayLike, sigma: float, delta: float = 1e-3) -> np.ndarray:
    """Per-point log density -H_delta(r / sigma) - log Z(delta) - log sigma.

    Besiroglu et al. 2024, data_analysis.ipynb cell NwwVqy2CZ4Bq (``huber_logpdf``); the Huber
    loss H_delta is that of Huber 1964 (``scaling.fit._common.huber``).
    """
    r = np.asarray(residuals, dtype=float)
    if not (np.isfinite(sigma) and sigma > 0):
        raise UserError(f"sigma: must be finite and > 0, got {sigma!r}")
    return -huber(r / sigma, delta) - huber_log_normaliser(delta) - np.log(sigma)


def profile_sigma(residuals: ArrayLike, delta: float = 1e-3) -> tuple[float, float]:
    """(sigma_hat, log-likelihood) maximising sum_i log p(r_i) over sigma for fixed residuals.

    This is Epoch's ``scale_objective`` (data_analysis.ipynb cell BHNctMDYmfrx), solved exactly:
    with x_i = r_i / sigma, d(-log L)/d log sigma = n - sum_i min(x_i^2, delta |x_i|), which
    decreases monotonically to a single root; sigma = delta * mean|r| when every |x_i| > delta.

    This is not the fit layer's log bisection (``scaling.fit._common.bisect_log``): sigma
    enters every log-likelihood and the likelihood-ratio statistic, so the root is wanted to
    machine precision (brentq, xtol = rtol = 1e-14 in log sigma) on a bracket found by
    stepping down from the closed form, not to 1e-7 inside a fixed window. The closed form is
    taken when g(hi) <= 1e-9 n (summation rounding of n terms of order 1); the bracket search
    gives up 200 below it (sigma below e^-200 ~ 1e-87 of delta mean|r|: all residuals zero).
    """
    from scipy.optimize import brentq

    r = np.abs(np.asarray(residuals, dtype=float).reshape(-1))
    d = _check_delta(delta)
    n = r.size
    if n == 0 or not np.all(np.isfinite(r)):
        raise UserError("residuals: need at least one finite residual to fit the scale")
    mean_abs = float(r.mean())
    if not mean_abs > 0:
        raise UserError(
            "residuals: all zero, so the likelihood is unbounded (noise-free data?); "
            "add noise or compare on real measurements"
        )

    def g(s: float) -> float:  # n - sum min(x^2, delta |x|), increasing in s = log sigma
        x = r * math.exp(-s)
        return n - float(np.sum(np.minimum(x * x, d * x)))

    hi = math.log(d * mean_abs)  # g(hi) >= 0
    lo = hi - 1.0
    while g(lo) > 0:
        lo -= 2.0 * (hi - lo)
        if hi - lo > 200:
            raise UserError("residuals: could not fit the scale (almost all residuals are zero)")
    # g(hi) is 0 up to rounding when every |x_i| > delta: the closed form is the root
    s = hi if g(hi) <= 1e-9 * n else brentq(g, lo, hi, xtol=1e-14, rtol=1e-14)
    sigma = math.exp(s)
    return sigma, float(np.sum(huber_logpdf(r, sigma, d)))
