"""The interior gate on one budget's isoFLOP minimum, and an overflow-safe exp.

A budget's minimum is *interior* when at least ``MIN_POINTS_EACH_SIDE`` distinct sampled sizes
lie on each side of N_opt and the profile's curvature there is above ``MIN_CURVATURE``
(Hoffmann et al. 2022, §3.2 read minima off isoFLOP curves that turn upwards on both sides);
``_gate`` also reports where N_opt sits in the sampled log-N range (``centring``).
"""

from __future__ import annotations

import math

import numpy as np

# Gate on a budget's minimum. One sampled size on each side is the least that brackets a
# minimum (Hoffmann et al. 2022 §3.2 read minima off curves that turn upwards on both sides).
MIN_POINTS_EACH_SIDE = 1
# d^2 loss / d(log N)^2 must be strictly positive: a flat or concave profile has no minimum.
MIN_CURVATURE = 0.0
# exp() overflows beyond this argument (the largest double is ~1.8e308 = e^709.8); an
# extrapolated vertex further out is no minimum.
_MAX_EXP = 700.0

OUTSIDE = "minimum outside the sampled N range"


def _exp(v: float) -> float:
    """math.exp without OverflowError: inf beyond the float range, NaN for NaN."""
    if not math.isfinite(v):
        return float("nan") if math.isnan(v) else (float("inf") if v > 0 else 0.0)
    return math.exp(v) if v < _MAX_EXP else float("inf")


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


def _positive(*values: float) -> bool:
    return all(math.isfinite(v) and v > 0 for v in values)
