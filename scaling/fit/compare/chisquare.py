"""The chi-square test of a published law against the bootstrap of a refit (Epoch's §3 test).

Besiroglu et al. 2024 (arXiv:2404.10102), data_analysis.ipynb cells ``oLoFowoEIoV1``,
``oXSCOQ4rIuIn``, ``Ff11hpSvrMKf``: chi2 = (theta_pub - theta_hat)^T Sigma^-1 (theta_pub -
theta_hat), Sigma the covariance of 4,000 bootstrap refits (rows resampled with replacement) in
the fitted parametrisation (log A, log B, log E, alpha, beta), dof 5. Epoch: chi2 = 238.40,
p = 1.69e-49 for the unrounded estimates of Hoffmann et al.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from scaling.core.errors import UserError
from scaling.fit._common import jsonable
from scaling.fit.compare.lrt import _chi2_p
from scaling.fit.parametric import PARAM_NAMES, ChinchillaFit, ChinchillaLaw

# Epoch's fit works on (log A, log B, log E, alpha, beta) [cell NwwVqy2CZ4Bq,
# ``untransform_params``]; the bootstrap covariance is taken there.
LOG_PARAMS = frozenset({"E", "A", "B"})


@dataclass(frozen=True)
class ChiSquareResult:
    """Wald-type chi-square of a published law against the bootstrap of a refit.

    ``coords`` names the compared coordinates ("log E", "alpha", ...); ``difference`` =
    published - centre in those coordinates; ``std`` their bootstrap standard deviations;
    ``z`` = difference / std with two-sided normal ``z_p_values``. ``dof`` is the rank of the
    bootstrap covariance (the number of coordinates unless it is singular, when
    ``pseudo_inverse`` is True). ``n_bootstrap`` resamples, of which ``n_dropped`` had a
    non-finite coordinate and were left out (``n_used`` remain).
    """

    published: ChinchillaLaw
    center: ChinchillaLaw
    params: tuple[str, ...]
    coords: tuple[str, ...]
    difference: np.ndarray
    std: np.ndarray
    z: np.ndarray
    z_p_values: np.ndarray
    chi2: float
    dof: int
    p_value: float
    log10_p_value: float
    n_bootstrap: int
    n_used: int
    n_dropped: int
    rank: int
    condition: float
    pseudo_inverse: bool
    n_points: int = 0
    ci: float = 0.95
    intervals: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    warning: str = ""

    @property
    def rejected(self) -> bool:
        """True when the published law is rejected at the 5% level."""
        return bool(self.p_value < 0.05)

    def to_dict(self) -> dict[str, Any]:
        return jsonable(
            {
                "test": "chi-square of published vs refit, bootstrap covariance "
                "(Besiroglu et al. 2024)",
                "published": self.published.params(),
                "center": self.center.params(),
                "params": list(self.params),
                "coords": list(self.coords),
                "difference": self.difference,
                "std": self.std,
                "z": dict(zip(self.params, self.z.tolist(), strict=True)),
                "z_p_values": dict(zip(self.params, self.z_p_values.tolist(), strict=True)),
                "chi2": self.chi2,
                "dof": self.dof,
                "p_value": self.p_value,
                "log10_p_value": self.log10_p_value,
                "rejected_at_5pct": self.rejected,
                "n_bootstrap": self.n_bootstrap,
                "n_used": self.n_used,
                "n_dropped": self.n_dropped,
                "rank": self.rank,
                "condition": self.condition,
                "pseudo_inverse": self.pseudo_inverse,
                "n_points": self.n_points,
                "ci": self.ci,
                "intervals": {k: list(v) for k, v in self.intervals.items()},
                "warning": self.warning,
            }
        )


def _coord(name: str, values: np.ndarray, log_scale: bool) -> np.ndarray:
    v = np.asarray(values, dtype=float)
    if log_scale and name in LOG_PARAMS:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(v > 0, np.log(np.where(v > 0, v, 1.0)), np.nan)
    return v


def chi_square_against_bootstrap(
    fit: ChinchillaFit,
    published: ChinchillaLaw,
    params: Sequence[str] = PARAM_NAMES,
    *,
    center: ChinchillaLaw | None = None,
    log_scale: bool = True,
    rcond: float = 1e-10,
) -> ChiSquareResult:
    """chi2 = (theta_pub - theta_hat)^T Sigma^-1 (theta_pub - theta_hat), dof = rank Sigma.

    Besiroglu et al. 2024, data_analysis.ipynb cells oLoFowoEIoV1 (bootstrap refits),
    oXSCOQ4rIuIn (``cov_matrix = np.cov(param_list.T)``) and Ff11hpSvrMKf
    (``chi_squared_stat``, ``chi2.sf(chi_squared, df=5)``). As there, theta is taken in the
    fitted parametrisation (log A, log B, log E, alpha, beta) (``log_scale=True``; False uses
    A, B, E themselves) and Sigma is the sample covariance of ``fit.bootstrap_samples``.
    ``center`` defaults to the fit's point estimate; Epoch centred on their maximum-likelihood
    estimate (pass ``huber_likelihood_fit(...)`` to do the same). ``params`` may also name
    "a" and "b" (Hoffmann eq. 4), which are functions of alpha and beta.

    Resamples with a non-finite coordinate are dropped and counted. A singular covariance
    (rank below the number of coordinates, relative tolerance ``rcond``; 1e-10 is three orders
    below 1 / the condition numbers of 1e6-1e7 measured in the calibration described in
    ``scaling.fit.compare``, so only a truly flat direction is dropped) is inverted with the
    pseudo-inverse and dof = rank, with a ``warning`` that says so. With few resamples the
    smallest eigenvalues of Sigma are underestimated and chi2 is inflated (see
    ``scaling.fit.compare``); Epoch used 4,000.
    """
    from scipy.stats import norm

    names, ctr = _check(fit, published, params, center)
    X, counts = _finite_samples(fit.bootstrap_samples, names, log_scale)
    diff = _difference(published, ctr, names, log_scale)
    cov = np.atleast_2d(np.cov(X, rowvar=False))
    std = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    test = _wald(diff, cov, X, names, rcond)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(std > 0, diff / np.where(std > 0, std, 1.0), np.where(diff == 0, 0, np.inf))
    return ChiSquareResult(
        published=published,
        center=ChinchillaLaw(*(float(getattr(ctr, n)) for n in PARAM_NAMES)),
        params=names,
        coords=tuple(f"log {n}" if log_scale and n in LOG_PARAMS else n for n in names),
        difference=diff,
        std=std,
        z=np.asarray(z, dtype=float),
        z_p_values=np.asarray(2.0 * norm.sf(np.abs(z)), dtype=float),
        **counts,
        **test,
        n_points=fit.n_points,
        ci=fit.ci,
        intervals={n: fit.intervals[n] for n in names if n in fit.intervals},
    )


def _check(
    fit: ChinchillaFit, published: ChinchillaLaw, params: Sequence[str], center: Any
) -> tuple[tuple[str, ...], ChinchillaLaw]:
    """(compared names, centre law), or ``UserError`` naming the first bad argument."""
    if not isinstance(fit, ChinchillaFit):
        raise UserError(f"fit: expected a ChinchillaFit, got {type(fit).__name__}")
    if not isinstance(published, ChinchillaLaw):
        raise UserError(f"published: expected a ChinchillaLaw, got {type(published).__name__}")
    samples = fit.bootstrap_samples
    if not samples:
        raise UserError(
            "fit: has no bootstrap samples; refit with fit_chinchilla(..., bootstrap=200)"
        )
    names = tuple(params)
    allowed = [k for k in samples if k in (*PARAM_NAMES, "a", "b")]
    bad = [k for k in names if k not in allowed]
    if not names or bad or len(set(names)) != len(names):
        raise UserError(f"params: give distinct names from {allowed}; got {list(names)}")
    ctr = fit.law if center is None else center
    if not isinstance(ctr, ChinchillaLaw):
        raise UserError(f"center: expected a ChinchillaLaw, got {type(ctr).__name__}")
    return names, ctr


def _finite_samples(
    samples: Mapping[str, np.ndarray], names: tuple[str, ...], log_scale: bool
) -> tuple[np.ndarray, dict[str, int]]:
    """The resamples (rows) in the compared coordinates, those with a non-finite one dropped,
    and the counts; ``UserError`` with fewer than k + 1 rows (a k x k covariance needs them)."""
    k = len(names)
    X = np.column_stack([_coord(n, samples[n], log_scale) for n in names])
    ok = np.all(np.isfinite(X), axis=1)
    n_boot, n_used = len(X), int(ok.sum())
    if n_used < k + 1:
        raise UserError(
            f"fit: only {n_used} of {n_boot} bootstrap samples are finite; need at least "
            f"{k + 1} for a {k}x{k} covariance (refit with more bootstrap resamples)"
        )
    return X[ok], {"n_bootstrap": n_boot, "n_used": n_used, "n_dropped": n_boot - n_used}


def _difference(
    published: ChinchillaLaw, ctr: ChinchillaLaw, names: tuple[str, ...], log_scale: bool
) -> np.ndarray:
    """published - centre in the compared coordinates; ``UserError`` unless both are finite."""
    pub = np.array([float(_coord(n, getattr(published, n), log_scale)) for n in names])
    cen = np.array([float(_coord(n, getattr(ctr, n), log_scale)) for n in names])
    if not (np.all(np.isfinite(pub)) and np.all(np.isfinite(cen))):
        what = "published" if not np.all(np.isfinite(pub)) else "center"
        raise UserError(f"{what}: parameters must be finite (and E, A, B > 0 on the log scale)")
    return pub - cen


def _wald(
    diff: np.ndarray, cov: np.ndarray, X: np.ndarray, names: tuple[str, ...], rcond: float
) -> dict[str, Any]:
    """chi2 = diff^T cov^+ diff on the eigenvalues above ``rcond`` times the largest, with its
    dof (the rank), p-value, condition number and a warning for a singular covariance.

    Thresholds: the covariance is zero when its largest eigenvalue is below (1e-12 * max|X|)^2,
    the rounding of np.cov in double precision; the published law's part outside the
    bootstrap's span is reported when above 1e-8 of |diff| (rounding of the projection).
    """
    k = len(names)
    w, V = np.linalg.eigh(cov)
    w_max = float(w.max()) if w.size else 0.0
    scale = max(1.0, float(np.max(np.abs(X))))
    if not w_max > (1e-12 * scale) ** 2:  # zero up to rounding of np.cov
        raise UserError(
            f"fit: the bootstrap covariance of {list(names)} is zero (every resample gave the "
            "same parameters); no chi-square test is possible"
        )
    keep = w > rcond * w_max
    rank = int(keep.sum())
    condition = float(w_max / w[keep].min())
    proj = V[:, keep].T @ diff
    chi2_stat = float(np.sum(proj * proj / w[keep]))
    warning = ""
    if rank < k:
        resid = diff - V[:, keep] @ proj
        warning = (
            f"bootstrap covariance of {list(names)} is singular (rank {rank} of {k}); "
            f"used its pseudo-inverse with dof {rank}"
        )
        if float(np.linalg.norm(resid)) > 1e-8 * max(1.0, float(np.linalg.norm(diff))):
            warning += (
                f"; the published law differs by {float(np.linalg.norm(resid)):.3g} along "
                "directions the bootstrap never varied, which the test ignores"
            )
    p, log10_p = _chi2_p(chi2_stat, rank)
    return {
        "chi2": chi2_stat,
        "dof": rank,
        "p_value": p,
        "log10_p_value": log10_p,
        "rank": rank,
        "condition": condition,
        "pseudo_inverse": rank < k,
        "warning": warning,
    }
