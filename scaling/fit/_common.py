"""Small shared pieces: input checks, the Huber loss, R^2, percentile intervals, JSON conversion."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from scaling.core.errors import UserError
from scaling.core.io import jsonable  # noqa: F401 (the one converter, used by every fit result)

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
            f"{name}: every value must be {need}; first bad value {arr[i]!r} at row {i}"
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
            f"{name}: every value must be finite; first bad value {arr[i]!r} at row {i}"
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


def check_ci(ci: float) -> float:
    if not 0 < ci < 1:
        raise UserError(f"ci: must be between 0 and 1 (e.g. 0.95), got {ci!r}")
    return float(ci)


def scalar_or_array(x: np.ndarray, like: Any) -> float | np.ndarray:
    """Return a Python float when the input ``like`` (or broadcast of inputs) was a scalar."""
    nd = like.nd if isinstance(like, np.broadcast) else np.ndim(like)
    return float(x) if nd == 0 else x
