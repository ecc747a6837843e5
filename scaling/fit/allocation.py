"""Compute-optimal allocation under the FLOP convention the runs were recorded in.

Hoffmann et al. 2022 (eq. 4) solve min L(N, D) subject to C = 6 N D in closed form. Runs here
record C under a named convention (``scaling.core.flops``): under ``6N_attn`` a run costs
C = D (6 N + 12 n_layer n_ctx d_model), 30-72% more than 6 N D on the default ladder (the head
and attention are 10-72% of the compute at this scale: Pearce and Song 2024, "Reconciling Kaplan
and Chinchilla Scaling Laws", §2; Porian et al. 2024, §3). A closed form in 6ND would then place
N_opt, D_opt, the data wall and every compute-to-match at compute the runs never measured.

``FlopModel`` is the recorded relation C = k(N) N D, with k(N) = C / (N D) read off the runs
(exact per model shape, so one value per sampled N) and interpolated in log N; outside the
sampled N range k is held at the nearest sampled value, and every result says whether it lies
outside (``extrapolated``). ``compute_optimal`` minimises L(N, C / (k(N) N)) over N numerically.
``FlopModel.six_nd()`` is the plain C = 6 N D of Hoffmann et al.'s closed forms (k = 6).
``compute_to_match`` and ``compute_at_tokens`` solve for C inside ``C_WINDOW`` with the fit
layer's one log-space bisection, ``scaling.fit._common.bisect_log`` (re-exported here).
Numpy only (scipy for the bounded minimisation over N).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from scaling.fit._common import (  # Solve, bisect_log: re-exported for the callers of the solves
    ArrayLike,
    Solve,
    bisect_log,
    positive_array,
    same_length,
)


class Law(Protocol):
    """Anything with ``predict(N, D)`` (a ``ChinchillaLaw`` or one of its fits)."""

    def predict(self, N: Any, D: Any) -> Any: ...


@dataclass(frozen=True)
class FlopModel:
    """C = k(N) N D, with k interpolated in log N between the sampled model sizes."""

    convention: str
    log_n: np.ndarray = field(default_factory=lambda: np.empty(0), repr=False)
    log_k: np.ndarray = field(default_factory=lambda: np.empty(0), repr=False)

    @classmethod
    def six_nd(cls) -> FlopModel:
        """C = 6 N D (Kaplan et al. 2020, §2.1; the closed forms of Hoffmann et al. 2022)."""
        return cls("6ND", np.array([0.0]), np.array([math.log(6.0)]))

    @classmethod
    def from_runs(
        cls, params: ArrayLike, tokens: ArrayLike, flops: ArrayLike, convention: str
    ) -> FlopModel:
        """k(N) = median of C / (N D) over the runs of each distinct N."""
        N = positive_array("params", params)
        D = positive_array("tokens", tokens)
        C = positive_array("flops", flops)
        same_length(params=N, tokens=D, flops=C)
        ln = np.log(N)
        lk = np.log(C) - ln - np.log(D)
        ux = np.unique(ln)
        uk = np.array([float(np.median(lk[ln == x])) for x in ux])
        return cls(str(convention), ux, uk)

    @property
    def n_range(self) -> tuple[float, float]:
        """Smallest and largest sampled N (the whole line for ``six_nd``)."""
        if self.convention == "6ND":
            return (0.0, math.inf)
        return (math.exp(float(self.log_n[0])), math.exp(float(self.log_n[-1])))

    def k(self, N: ArrayLike | float) -> np.ndarray:
        """FLOPs per parameter and token at size N."""
        x = np.log(np.asarray(N, dtype=float))
        return np.exp(np.interp(x, self.log_n, self.log_k))

    def flops(self, N: ArrayLike | float, D: ArrayLike | float) -> np.ndarray:
        """Training FLOPs of N parameters on D tokens."""
        return self.k(N) * np.asarray(N, dtype=float) * np.asarray(D, dtype=float)

    def tokens(self, N: ArrayLike | float, C: ArrayLike | float) -> np.ndarray:
        """Tokens that compute C buys a model of size N."""
        n = np.asarray(N, dtype=float)
        return np.asarray(C, dtype=float) / (self.k(n) * n)

    def to_dict(self) -> dict[str, Any]:
        return {
            "convention": self.convention,
            "n": [math.exp(float(v)) for v in self.log_n] if self.convention != "6ND" else [],
            "flops_per_param_token": [math.exp(float(v)) for v in self.log_k],
        }


def flop_model(runs: Any) -> FlopModel:
    """The FLOP model of a table of runs (columns params, tokens, flops, flops_convention):
    the N, D and C each run recorded, under the convention it recorded them in."""
    conv = str(runs["flops_convention"].iloc[0]) if "flops_convention" in runs else "recorded"
    return FlopModel.from_runs(runs["params"], runs["tokens"], runs["flops"], conv)


@dataclass(frozen=True)
class Allocation:
    """The compute-optimal (N, D) and loss of a law at compute C under a FLOP model."""

    flops: float
    n_opt: float
    d_opt: float
    loss: float
    extrapolated: bool  # N_opt outside the FLOP model's sampled N range


# log N search window: 1 parameter to 1e15 (far beyond any law fitted here); the grid is fine
# enough (0.05 in log N) that the bounded refinement starts in the right basin.
_LOG_N_GRID = np.arange(0.0, math.log(1e15), 0.05)


def compute_optimal(law: Law, C: float, fm: FlopModel) -> Allocation:
    """argmin over N of L(N, C / (k(N) N)) (Hoffmann et al. 2022, §3.3 eq. 4 without the
    closed form, so that C is the runs' recorded convention). NaN when the law has no
    finite loss at this compute."""
    from scipy.optimize import minimize_scalar

    c = float(C)
    n_grid = np.exp(_LOG_N_GRID)
    d_grid = fm.tokens(n_grid, c)
    keep = d_grid >= 1.0
    nan = float("nan")
    if not keep.any():
        return Allocation(c, nan, nan, nan, True)
    with np.errstate(all="ignore"):
        vals = np.asarray(law.predict(n_grid[keep], d_grid[keep]), dtype=float)
    if not np.isfinite(vals).any():
        return Allocation(c, nan, nan, nan, True)
    x = _LOG_N_GRID[keep]
    i = int(np.nanargmin(np.where(np.isfinite(vals), vals, np.inf)))
    lo, hi = x[max(i - 1, 0)], x[min(i + 1, len(x) - 1)]

    def f(log_n: float) -> float:
        n = math.exp(log_n)
        with np.errstate(all="ignore"):
            v = float(law.predict(n, float(fm.tokens(n, c))))
        return v if math.isfinite(v) else math.inf

    # xatol 1e-7 in log N: N_opt to 1e-7 relative (chosen: far below any fitted law's spread)
    best = minimize_scalar(f, bounds=(lo, hi), method="bounded", options={"xatol": 1e-7})
    n_opt = math.exp(float(best.x))
    n_lo, n_hi = fm.n_range
    return Allocation(
        c, n_opt, float(fm.tokens(n_opt, c)), float(best.fun), not n_lo <= n_opt <= n_hi
    )


def frontier_loss(law: Law, C: float, fm: FlopModel) -> float:
    """min over N of L at compute C: the compute-optimal loss."""
    return compute_optimal(law, C, fm).loss


# Compute window of every solve: 1e3 FLOPs (nothing trains below) to 1e30 (five orders beyond the
# largest training runs reported to date, ~1e26). A root outside it is reported as such, never as
# the window's edge.
C_WINDOW = (1e3, 1e30)


def compute_to_match(law: Law, loss: float, fm: FlopModel) -> Solve:
    """C at which the law's compute-optimal frontier falls to ``loss``."""
    return bisect_log(lambda c: frontier_loss(law, c, fm), loss, *C_WINDOW, rising=False)


def compute_at_tokens(law: Law, tokens: float, fm: FlopModel) -> Solve:
    """C at which the compute-optimal token count D_opt(C) reaches ``tokens`` (the data wall
    of a pool of that many unique tokens)."""
    return bisect_log(lambda c: compute_optimal(law, c, fm).d_opt, tokens, *C_WINDOW, rising=True)
