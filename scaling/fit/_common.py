"""Small shared pieces: input checks, the Huber loss, R^2, percentile intervals, JSON conversion,
and the one log-space bisection of the fit layer (``bisect_log``)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from scaling.core.errors import UserError
from scaling.core.io import jsonable  # noqa: F401 (the one converter, used by every fit result)
from scaling.core.validate import whole_number

ArrayLike = Sequence[float] | np.ndarray


def positive_array(name: str, values: Any, *, allow_zero: bool = False) -> np.ndarray:
    """``values`` as a 1-D float array; ``UserError`` naming ``name`` unless all finite and > 0."""
    try:
        arr = np.asarray(values, dtype=float).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise UserError(f"{name}: expected numbers, got {type(values).__name__} ({exc})") from None
    ok = np.isfinite(arr) & ((arr >= 0) if allow_zero else (arr > 0))
    if not ok.all():
        i = int(np.flatnonzero(~ok)[0])
        need = "finite and >= 0" if allow_zero else "finite and > 0"
        raise UserError(
            f"{name}: every value must be {need}; first bad value {float(arr[i])!r} at row {i}"
        )
    return arr


def finite_array(name: str, values: Any) -> np.ndarray:
    """``values`` as a 1-D float array; ``UserError`` naming ``name`` unless all finite."""
    try:
        arr = np.asarray(values, dtype=float).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise UserError(f"{name}: expected numbers, got {type(values).__name__} ({exc})") from None
    bad = ~np.isfinite(arr)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise UserError(
            f"{name}: every value must be finite; first bad value {float(arr[i])!r} at row {i}"
        )
    return arr


def same_length(**arrays: np.ndarray | None) -> int:
    """Common length of the given arrays (``None`` skipped); ``UserError`` if they differ."""
    lengths = {k: len(v) for k, v in arrays.items() if v is not None}
    if len(set(lengths.values())) > 1:
        desc = ", ".join(f"{k}={n}" for k, n in lengths.items())
        raise UserError(f"inputs must have the same length; got {desc}")
    return next(iter(lengths.values()), 0)


def need_points(law: str, n: int, minimum: int, what: str = "points") -> None:
    """``UserError`` when fewer than ``minimum`` points are available for ``law``."""
    if n < minimum:
        raise UserError(f"{law}: needs at least {minimum} {what}, got {n}")


def huber(r: np.ndarray, delta: float) -> np.ndarray:
    """Huber loss: r^2/2 for |r| <= delta, delta (|r| - delta/2) beyond (Huber 1964)."""
    a = np.abs(r)
    return np.where(a <= delta, 0.5 * r * r, delta * (a - 0.5 * delta))


def r2_score(y: np.ndarray, y_hat: np.ndarray) -> float:
    """Coefficient of determination 1 - SS_res / SS_tot (sklearn.metrics.r2_score convention)."""
    y = np.asarray(y, dtype=float)
    ss_res = float(np.sum((y - y_hat) ** 2))
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    return 1.0 - ss_res / ss_tot if ss_tot > 0 else float("nan")


def percentile_interval(samples: np.ndarray, ci: float) -> tuple[float, float]:
    """Equal-tailed percentile interval of ``samples`` (NaNs ignored) at coverage ``ci``."""
    s = np.asarray(samples, dtype=float)
    s = s[np.isfinite(s)]
    if s.size == 0:
        return (float("nan"), float("nan"))
    lo, hi = np.percentile(s, [50 * (1 - ci), 50 * (1 + ci)])
    return (float(lo), float(hi))


def check_count(name: str, value: Any) -> int:
    """``value`` as an int >= 0 (a resample count), else a ``UserError`` naming ``name``."""
    return whole_number(value, name)


def check_ci(ci: float) -> float:
    if not 0 < ci < 1:
        raise UserError(f"ci: must be between 0 and 1 (e.g. 0.95), got {ci!r}")
    return float(ci)


def scalar_or_array(x: np.ndarray, like: Any) -> float | np.ndarray:
    """Return a Python float when the input ``like`` (or broadcast of inputs) was a scalar."""
    nd = like.nd if isinstance(like, np.broadcast) else np.ndim(like)
    return float(x) if nd == 0 else x


@dataclass(frozen=True)
class Solve:
    """A root found by ``bisect_log``, or why there is none in the window."""

    value: float  # NaN when not found
    status: str  # "ok", "below_window" (reached before lo), "unreachable" (not by hi)


# Width of the final bracket in log x: x to 1e-7 relative. Every f solved here is a
# compute-optimal quantity whose inner minimisation over N stops at 1e-7 in log N
# (``scaling.fit.allocation.compute_optimal``, xatol), so a finer bracket would only chase that
# optimiser's rounding; 1e-7 is also far below the bootstrap spread of any fitted law.
BISECT_LOG_TOL = 1e-7


def bisect_log(
    f: Callable[[float], float],
    target: float,
    lo: float,
    hi: float,
    *,
    rising: bool,
    tol: float = BISECT_LOG_TOL,
) -> Solve:
    """x in [lo, hi] with f(x) = target for a monotone f (``rising`` or falling), by bisection
    in log x: the one root-find of the fit layer for "at which compute (or size) does this
    monotone quantity reach a target".

    The window ends are evaluated first: ``status`` is "below_window" when f has already
    reached ``target`` at ``lo``, "unreachable" when it has not by ``hi`` (or f is not finite
    there), and "ok" otherwise, with ``value`` the midpoint of the last bracket once its width in
    log x is below ``tol`` (default ``BISECT_LOG_TOL`` = 1e-7: x to 1e-7 relative, see there
    for why). Bisection rather than a faster bracketing method: f need only be monotone, not
    smooth (compute-optimal frontiers are minima of bounded searches), and the bracket
    halves every step whatever f does. The 100-step cap is never the stop in practice: a
    window of 1e3-1e30 (``scaling.fit.allocation.C_WINDOW``, 62 in log) takes 30 halvings.
    """
    a, b = math.log(lo), math.log(hi)
    fa, fb = f(lo), f(hi)
    if not (math.isfinite(fa) and math.isfinite(fb)):
        return Solve(math.nan, "unreachable")
    before = fa >= target if rising else fa <= target
    after = fb >= target if rising else fb <= target
    if before:
        return Solve(math.nan, "below_window")
    if not after:
        return Solve(math.nan, "unreachable")
    for _ in range(100):
        m = 0.5 * (a + b)
        v = f(math.exp(m))
        if (v < target) == rising:
            a = m
        else:
            b = m
        if b - a < tol:
            break
    return Solve(math.exp(0.5 * (a + b)), "ok")


def allocation_exponents(alpha: float, beta: float) -> tuple[float, float]:
    """(a, b) of N_opt ∝ C^a and D_opt ∝ C^b for L = E + A/N^alpha + B/D^beta under C ∝ N D:
    a = beta / (alpha + beta), b = alpha / (alpha + beta) (Hoffmann et al. 2022, eq. 4)."""
    return beta / (alpha + beta), alpha / (alpha + beta)
