"""Power laws y = coef * x^exponent fitted by (weighted) least squares in log space.

Used for the compute-optimal frontier N_opt ∝ C^a and D_opt ∝ C^b of Hoffmann et al. 2022,
§3.1-3.2 (approaches 1 and 2: "we then fit power laws" to the optimal N and D per budget).
Weighting follows Porian et al. 2024, "Resolving Discrepancies in Compute-Optimal Scaling of
Language Models" (formll/resolving-scaling-law-discrepancies, analysis.py ``power_law_fit``):
weights 1 / sigma^2 with sigma the standard deviation of log y; R^2 is the unweighted R^2 of the
weighted line in log space, as sklearn's ``LinearRegression.score`` reports it there.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from scaling.fit._common import (
    ArrayLike,
    check_ci,
    jsonable,
    need_points,
    positive_array,
    same_length,
    scalar_or_array,
)


@dataclass(frozen=True)
class PowerLaw:
    """y = coef * x^exponent. ``interval`` is the interval of the exponent at coverage ``ci``.

    ``interval_method``: "t" (regression standard error with a Student-t quantile),
    "bootstrap" (percentiles over refits of resampled data) or "none" (two points: no error).
    ``r2`` is in log-log space.
    """

    coef: float
    exponent: float
    interval: tuple[float, float]
    r2: float
    n_points: int
    stderr: float = float("nan")
    interval_method: str = "t"
    ci: float = 0.95

    def predict(self, x: ArrayLike | float) -> float | np.ndarray:
        """coef * x^exponent."""
        xx = np.asarray(x, dtype=float)
        return scalar_or_array(self.coef * xx**self.exponent, x)

    def inverse(self, y: ArrayLike | float) -> float | np.ndarray:
        """x at which the law reaches y: (y / coef)^(1 / exponent)."""
        yy = np.asarray(y, dtype=float)
        return scalar_or_array((yy / self.coef) ** (1.0 / self.exponent), y)

    def to_dict(self) -> dict[str, Any]:
        return jsonable(
            {
                "coef": self.coef,
                "exponent": self.exponent,
                "interval": list(self.interval),
                "interval_method": self.interval_method,
                "ci": self.ci,
                "stderr": self.stderr,
                "r2_loglog": self.r2,
                "n_points": self.n_points,
            }
        )


def t_quantile(q: float, dof: int) -> float:
    """Student-t quantile (scipy.special.stdtrit, imported on demand)."""
    from scipy.special import stdtrit

    return float(stdtrit(dof, q))


def loglog_line(
    log_x: np.ndarray, log_y: np.ndarray, w: np.ndarray | None = None
) -> tuple[float, float, float, float]:
    """Weighted least-squares line log y = c0 + c1 log x: (c0, c1, stderr of c1, unweighted R^2).

    The standard error uses the weighted residual variance sum w e^2 / (n - 2), i.e. weights
    known up to a common scale.
    """
    n = len(log_x)
    w = np.ones(n) if w is None else np.asarray(w, dtype=float)
    sw = w.sum()
    xm = float(np.sum(w * log_x) / sw)
    ym = float(np.sum(w * log_y) / sw)
    sxx = float(np.sum(w * (log_x - xm) ** 2))
    if sxx <= 0:
        return float("nan"), float("nan"), float("nan"), float("nan")
    c1 = float(np.sum(w * (log_x - xm) * (log_y - ym)) / sxx)
    c0 = ym - c1 * xm
    resid = log_y - (c0 + c1 * log_x)
    stderr = math.sqrt(float(np.sum(w * resid**2)) / (n - 2) / sxx) if n > 2 else float("nan")
    ss_tot = float(np.sum((log_y - log_y.mean()) ** 2))
    r2 = 1.0 - float(np.sum(resid**2)) / ss_tot if ss_tot > 0 else float("nan")
    return c0, c1, stderr, r2


def fit_power_law(
    x: ArrayLike,
    y: ArrayLike,
    *,
    sigma: ArrayLike | None = None,
    ci: float = 0.95,
) -> PowerLaw:
    """Fit y = coef * x^exponent by least squares of log y on log x (Hoffmann et al. 2022, §3.1).

    ``sigma``: standard deviation of log y per point; weights 1/sigma^2 as in Porian et al.
    2024 (analysis.py ``power_law_fit(weighted=True)``). The exponent interval uses the
    regression standard error and a Student-t quantile with n - 2 degrees of freedom.
    """
    xv = positive_array("x", x)
    yv = positive_array("y", y)
    n = same_length(x=xv, y=yv)
    need_points("power law", n, 2)
    ci = check_ci(ci)
    w = None
    if sigma is not None:
        s = positive_array("sigma", sigma)
        same_length(x=xv, sigma=s)
        w = 1.0 / s**2
    c0, c1, se, r2 = loglog_line(np.log(xv), np.log(yv), w)
    if n > 2 and math.isfinite(se):
        half = t_quantile(0.5 * (1 + ci), n - 2) * se
        interval, method = (c1 - half, c1 + half), "t"
    else:
        interval, method = (float("nan"), float("nan")), "none"
    return PowerLaw(
        coef=math.exp(c0),
        exponent=c1,
        interval=interval,
        r2=r2,
        n_points=n,
        stderr=se,
        interval_method=method,
        ci=ci,
    )
