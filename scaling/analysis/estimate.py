"""Typed results for statements: a number always travels with its interval, or with the reason
it has none. Sentences of the verdict are built from these, so none can print a bare number.
No torch, no Hydra.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

CI = 0.95


@dataclass(frozen=True)
class Estimate:
    """A derived quantity with its 95% interval (bootstrap percentiles unless ``method`` says
    otherwise). ``value`` is the point estimate on the full data; an infinite bound is a tail
    in which the quantity is unreachable (e.g. no compute matches a loss)."""

    value: float
    lo: float
    hi: float
    unit: str = ""
    method: str = "bootstrap"
    extrapolated: bool = False  # outside the sampled range of C, N or D
    n_samples: int = 0

    def render(self, digits: int = 3) -> str:
        """ "VALUE [LO, HI]" with the unit; "(extrapolated)" appended when outside the sample."""
        u = f" {self.unit}" if self.unit else ""
        s = f"{num(self.value, digits)} [{num(self.lo, digits)}, {num(self.hi, digits)}]{u}"
        return s + (" (extrapolated beyond the sampled range)" if self.extrapolated else "")

    def scaled(self, k: float, unit: str | None = None) -> Estimate:
        """The estimate times a positive constant k (value and both bounds)."""
        from dataclasses import replace

        return replace(
            self,
            value=self.value * k,
            lo=self.lo * k,
            hi=self.hi * k,
            unit=self.unit if unit is None else unit,
        )

    def excludes(self, x: float) -> bool:
        """True when x lies outside the interval."""
        return x < self.lo or x > self.hi

    def to_dict(self) -> dict[str, Any]:
        return {
            "value": _json(self.value),
            "interval": [_json(self.lo), _json(self.hi)],
            "ci": CI,
            "unit": self.unit,
            "method": self.method,
            "extrapolated": self.extrapolated,
            "n_samples": self.n_samples,
        }


@dataclass(frozen=True)
class Undetermined:
    """A quantity that cannot be given as a number, with the reason and what would fix it."""

    reason: str
    fix: str = ""

    def render(self, digits: int = 3) -> str:
        return f"not determined ({self.reason}" + (f"; {self.fix}" if self.fix else "") + ")"

    def to_dict(self) -> dict[str, Any]:
        return {"value": None, "reason": self.reason, "fix": self.fix}


Result = Estimate | Undetermined


def _json(x: float) -> float | str | None:
    if math.isnan(x):
        return None
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return float(x)


def num(x: float, digits: int = 3) -> str:
    """A number for prose: 3 significant digits, "∞" for an infinite bound."""
    if math.isinf(x):
        return "∞" if x > 0 else "-∞"
    if x == 0:
        return "0"
    if 1e3 <= abs(x) < 1e5:
        return f"{float(f'{x:.{digits}g}'):.0f}"
    if 1e-3 <= abs(x) < 1e3:
        return f"{x:.{digits}g}"
    return f"{x:.{max(digits - 1, 1)}e}".replace("e+0", "e").replace("e-0", "e-").replace("e+", "e")


def from_samples(
    value: float,
    samples: Iterable[float],
    *,
    unit: str = "",
    min_samples: int = 20,
    extrapolated: bool = False,
    what: str = "this quantity",
) -> Result:
    """Estimate with the 2.5 / 97.5 percentile interval of ``samples`` (NaN = failed resample,
    dropped; +-inf kept as unreachable tails, using order statistics so that an infinite tail
    stays infinite), or ``Undetermined`` when the value is not finite or too few samples."""
    s = np.asarray(list(samples), dtype=float)
    s = s[~np.isnan(s)]
    if not math.isfinite(value):
        return Undetermined(f"{what} has no finite point estimate")
    if s.size < min_samples:
        return Undetermined(
            f"only `{s.size}` bootstrap estimates of {what} (need `{min_samples}`)",
            "more bootstrap resamples",
        )
    lo = float(np.percentile(s, 100 * (1 - CI) / 2, method="lower"))
    hi = float(np.percentile(s, 100 * (1 + CI) / 2, method="higher"))
    return Estimate(
        float(value),
        lo,
        hi,
        unit=unit,
        extrapolated=extrapolated,
        n_samples=int(s.size),
    )


def render(r: Result, digits: int = 3) -> str:
    return r.render(digits)
