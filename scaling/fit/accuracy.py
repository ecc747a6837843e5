"""Task accuracy as a sigmoid of log compute or of loss.

acc = floor + (ceiling - floor) * sigmoid(s k (x - x0)), k > 0, with s = +1 against log10 FLOPs
(accuracy rises with compute) and s = -1 against loss (accuracy falls as loss rises).

- Against loss: Bhagia et al. 2024, "Establishing Task Scaling Laws via Compute-Efficient Model
  Ladders" (arXiv:2412.04403), step 2 of the two-step method: Acc(L) = a / (1 + e^(-k (L - L0)))
  + b, a sigmoid of the task loss (here a = ceiling - floor, b = floor, L0 = x0, k < 0 written
  as s = -1 with k > 0). Gadre et al. 2024 (arXiv:2403.08540) use the related exponential
  Err = eps - k exp(-gamma L) for average top-1 error.
- Against compute: a sigmoid of log10 FLOPs, as in Owen 2024, "How predictable is language model
  benchmark performance?" (arXiv:2401.04757).

``floor`` (chance accuracy) and ``ceiling`` are fixed when given and fitted otherwise. Fitting is
least squares on accuracy (scipy.optimize.least_squares) from several starts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from scaling.core.errors import UserError
from scaling.fit._common import (
    ArrayLike,
    finite_array,
    jsonable,
    need_points,
    positive_array,
    r2_score,
    same_length,
    scalar_or_array,
)

AGAINST = ("log_flops", "loss")


def sigmoid(z: np.ndarray) -> np.ndarray:
    """Logistic function 1 / (1 + e^-z), computed without overflow."""
    return 0.5 * (1.0 + np.tanh(0.5 * z))


@dataclass(frozen=True)
class SigmoidFit:
    """acc = floor + (ceiling - floor) sigmoid(s k (z - x0)); z = log10 FLOPs or loss.

    ``predict`` takes FLOPs (against="log_flops") or loss (against="loss"); ``inverse`` returns
    the FLOPs or loss needed for a target accuracy (NaN outside (floor, ceiling)).
    """

    against: str
    k: float
    x0: float
    floor: float
    ceiling: float
    r2: float = float("nan")
    objective: float = float("nan")
    n_points: int = 0
    floor_fitted: bool = False
    ceiling_fitted: bool = False
    residuals: np.ndarray = field(default_factory=lambda: np.empty(0), compare=False, repr=False)

    @property
    def sign(self) -> float:
        return 1.0 if self.against == "log_flops" else -1.0

    def _z(self, x: np.ndarray) -> np.ndarray:
        return np.log10(x) if self.against == "log_flops" else x

    def predict(self, x: ArrayLike | float) -> float | np.ndarray:
        """Accuracy at FLOPs (against="log_flops") or at loss (against="loss")."""
        z = self._z(np.asarray(x, dtype=float))
        acc = self.floor + (self.ceiling - self.floor) * sigmoid(self.sign * self.k * (z - self.x0))
        return scalar_or_array(acc, x)

    def inverse(self, accuracy: ArrayLike | float) -> float | np.ndarray:
        """FLOPs (or loss) at which the sigmoid reaches ``accuracy``; NaN if never reached."""
        a = np.asarray(accuracy, dtype=float)
        p = (a - self.floor) / (self.ceiling - self.floor)
        with np.errstate(divide="ignore", invalid="ignore"):
            z = self.x0 + self.sign * np.log(p / (1.0 - p)) / self.k
        z = np.where((p > 0) & (p < 1), z, np.nan)
        out = 10.0**z if self.against == "log_flops" else z
        return scalar_or_array(out, accuracy)

    def summary(self) -> dict[str, tuple[float, tuple[float, float] | None]]:
        return {
            "k": (self.k, None),
            "x0" + (" (log10 FLOPs)" if self.against == "log_flops" else " (loss)"): (
                self.x0,
                None,
            ),
            "floor": (self.floor, None),
            "ceiling": (self.ceiling, None),
        }

    def to_dict(self) -> dict[str, Any]:
        return jsonable(
            {
                "law": "accuracy",
                "form": "floor + (ceiling - floor) * sigmoid(s * k * (z - x0))",
                "against": self.against,
                "z": "log10(flops)" if self.against == "log_flops" else "loss",
                "s": self.sign,
                "k": self.k,
                "x0": self.x0,
                "floor": self.floor,
                "ceiling": self.ceiling,
                "floor_fitted": self.floor_fitted,
                "ceiling_fitted": self.ceiling_fitted,
                "r2": self.r2,
                "objective": self.objective,
                "objective_kind": "sum of squared accuracy residuals",
                "n_points": self.n_points,
                "residuals": self.residuals,
            }
        )


def fit_accuracy(
    x: ArrayLike,
    accuracy: ArrayLike,
    *,
    against: str = "log_flops",
    floor: float | None = None,
    ceiling: float | None = 1.0,
) -> SigmoidFit:
    """Fit acc = floor + (ceiling - floor) sigmoid(s k (z - x0)) by least squares.

    ``x``: training FLOPs (against="log_flops", z = log10 FLOPs) or loss (against="loss",
    z = loss). ``floor``/``ceiling``: fixed values, or None to fit them (floor within
    [min(0, min acc), max acc], ceiling within [min acc, max(1, max acc)]).
    Sigmoid in loss: Bhagia et al. 2024 (arXiv:2412.04403); in log compute: Owen 2024.
    """
    if against not in AGAINST:
        raise UserError(f"against: allowed values are {list(AGAINST)}, got {against!r}")
    xv = positive_array("flops" if against == "log_flops" else "loss", x)
    acc = finite_array("accuracy", accuracy)
    n = same_length(x=xv, accuracy=acc)
    n_free = 2 + (floor is None) + (ceiling is None)
    need_points("accuracy", n, n_free + 1, f"points ({n_free} free parameters)")
    if floor is not None and ceiling is not None and not floor < ceiling:
        raise UserError(f"floor ({floor}) must be below ceiling ({ceiling})")
    z = np.log10(xv) if against == "log_flops" else xv
    model = _Model(z, acc, 1.0 if against == "log_flops" else -1.0, floor, ceiling)
    best = _best_start(model)
    x0, k, fl, ce = model.unpack(best.x)
    res = model.resid(best.x)
    return SigmoidFit(
        against=against,
        k=k,
        x0=x0,
        floor=fl,
        ceiling=ce,
        r2=r2_score(acc, acc + res),
        objective=float(np.sum(res**2)),
        n_points=n,
        floor_fitted=floor is None,
        ceiling_fitted=ceiling is None,
        residuals=-res,
    )


class _Model:
    """The sigmoid's residuals in the free numbers p = (x0, log k[, floor][, ceiling])."""

    def __init__(
        self, z: np.ndarray, acc: np.ndarray, s: float, floor: float | None, ceiling: float | None
    ) -> None:
        self.z, self.acc, self.s, self.floor, self.ceiling = z, acc, s, floor, ceiling

    def unpack(self, p: np.ndarray) -> tuple[float, float, float, float]:
        """(x0, k, floor, ceiling) from p, the fixed floor and ceiling filled in."""
        i = 2
        fl = self.floor
        ce = self.ceiling
        if fl is None:
            fl = p[i]
            i += 1
        if ce is None:
            ce = p[i]
        return float(p[0]), float(math.exp(p[1])), float(fl), float(ce)

    def resid(self, p: np.ndarray) -> np.ndarray:
        """Predicted minus observed accuracy."""
        x0, k, fl, ce = self.unpack(p)
        return fl + (ce - fl) * sigmoid(self.s * k * (self.z - x0)) - self.acc


# Multi-start settings (chosen, not tuned): starts at x0 = the 10-90% quantiles of z and slopes
# k of 0.3-10 per standard deviation of z; k is bounded to [1e-3, 1e3] per standard deviation
# (flatter is no sigmoid over the data, steeper a step between two points). Starts are kept
# 1e-9 inside the bounds, which least_squares requires strictly.
_START_QUANTILES = (0.1, 0.3, 0.5, 0.7, 0.9)
_START_SLOPES = (0.3, 1.0, 3.0, 10.0)


def _best_start(model: _Model) -> Any:
    """The lowest-cost scipy.optimize.least_squares result (trust region reflective, within
    bounds) over the grid of starts."""
    from scipy.optimize import least_squares

    z, acc = model.z, model.acc
    zs = float(np.std(z)) or 1.0
    lo_acc, hi_acc = float(acc.min()), float(acc.max())
    lower = [-np.inf, math.log(1e-3 / zs)]
    upper = [np.inf, math.log(1e3 / zs)]
    extra0 = []
    if model.floor is None:
        lower.append(min(0.0, lo_acc))
        upper.append(hi_acc)
        extra0.append(min(0.0, lo_acc) if lo_acc >= 0 else lo_acc)
    if model.ceiling is None:
        lower.append(lo_acc)
        upper.append(max(1.0, hi_acc))
        extra0.append(max(1.0, hi_acc))
    best = None
    for q in _START_QUANTILES:
        for kk in _START_SLOPES:
            p0 = np.array([float(np.quantile(z, q)), math.log(kk / zs), *extra0])
            p0 = np.clip(p0, np.array(lower) + 1e-9, np.array(upper) - 1e-9)
            r = least_squares(model.resid, p0, bounds=(lower, upper), method="trf")
            if best is None or r.cost < best.cost:
                best = r
    assert best is not None
    return best
