"""The data-constrained law: effective data D', effective size N', the law, the published fit and
its compute-optimal allocation under a unique-data limit.

Muennighoff et al. 2023, "Scaling Data-Constrained Language Models" (arXiv:2305.16264), §3.1
eqs. (5)-(7): the Chinchilla law is evaluated at an effective data D' and effective size N',

    L = E + A / N'^alpha + B / D'^beta,
    D' = U_D + U_D R_D* (1 - exp(-R_D / R_D*)),   R_D = D / U_D - 1   (repetitions),
    N' = U_N + U_N R_N* (1 - exp(-R_N / R_N*)),   R_N = N / U_N - 1   (excess parameters),

with U_D the unique tokens and U_N = min(N, N_u), N_u the compute-optimal model size for U_D
unique tokens under the base law (the N whose compute-optimal D equals U_D). The definitions of
U_N and R_N follow huggingface/datablations, utils/parametric_fit.ipynb (``scaling_law``:
``UN = np.minimum(N, optimal_N(D_to_C(U)))``, ``rn = np.maximum(N / UN - 1, 0)``) and the
repository README (``D_to_N``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from scaling.fit._common import ArrayLike, jsonable, positive_array, scalar_or_array
from scaling.fit.parametric import MUENNIGHOFF_2023_BASE, ChinchillaLaw


def _decay(R: np.ndarray, R_star: np.ndarray | float) -> np.ndarray:
    """R* (1 - exp(-R / R*)): the value of R repetitions (Muennighoff et al. 2023, §3.1)."""
    return R_star * -np.expm1(-R / R_star)


def effective_data(
    tokens: ArrayLike | float, unique_tokens: ArrayLike | float, R_D_star: float
) -> float | np.ndarray:
    """D' = U_D + U_D R_D* (1 - exp(-R_D / R_D*)) (Muennighoff et al. 2023, §3.1 eqs. 5-7).

    U_D = min(U, D) unique tokens seen and R_D = D / U_D - 1 repetitions; D' = D when nothing
    is repeated.
    """
    D = np.asarray(tokens, dtype=float)
    U = np.minimum(np.asarray(unique_tokens, dtype=float), D)
    R = np.maximum(D / U - 1.0, 0.0)
    return scalar_or_array(U * (1.0 + _decay(R, R_D_star)), np.broadcast(D, U))


def unique_params(unique_tokens: ArrayLike | float, base: ChinchillaLaw) -> float | np.ndarray:
    """N_u: the compute-optimal N for U unique tokens under ``base``: G (G U)^(beta / alpha).

    From D_opt = G^-1 (C/6)^b and N_opt = G (C/6)^a (Hoffmann et al. 2022, eq. 4) with
    D_opt = U (huggingface/datablations README, ``D_to_N``).
    """
    U = np.asarray(unique_tokens, dtype=float)
    G = base.G
    return scalar_or_array(G * (G * U) ** (base.beta / base.alpha), unique_tokens)


def effective_params(
    params: ArrayLike | float,
    unique_tokens: ArrayLike | float,
    R_N_star: float,
    base: ChinchillaLaw,
    tokens: ArrayLike | float | None = None,
) -> float | np.ndarray:
    """N' = U_N + U_N R_N* (1 - exp(-R_N / R_N*)) (Muennighoff et al. 2023, §3.1 eqs. 5-7).

    U_N = min(N, N_u(U_D)) with N_u from ``unique_params`` and R_N = N / U_N - 1 excess
    parameters. ``tokens`` (optional) caps U_D = min(U, D).
    """
    N = np.asarray(params, dtype=float)
    U = np.asarray(unique_tokens, dtype=float)
    if tokens is not None:
        U = np.minimum(U, np.asarray(tokens, dtype=float))
    UN = np.minimum(N, np.asarray(unique_params(U, base)))
    R = np.maximum(N / UN - 1.0, 0.0)
    return scalar_or_array(UN * (1.0 + _decay(R, R_N_star)), np.broadcast(N, U))


@dataclass(frozen=True)
class DataConstrainedLaw:
    """L(N, D, U) = E + A / N'^alpha + B / D'^beta (Muennighoff et al. 2023, §3.1 eqs. 5-7)."""

    base: ChinchillaLaw
    R_D_star: float
    R_N_star: float

    def effective_data(self, D: ArrayLike | float, U: ArrayLike | float) -> float | np.ndarray:
        """D' (Muennighoff et al. 2023, §3.1)."""
        return effective_data(D, U, self.R_D_star)

    def effective_params(
        self, N: ArrayLike | float, U: ArrayLike | float, D: ArrayLike | float | None = None
    ) -> float | np.ndarray:
        """N' (Muennighoff et al. 2023, §3.1)."""
        return effective_params(N, U, self.R_N_star, self.base, tokens=D)

    def predict(
        self, N: ArrayLike | float, D: ArrayLike | float, U: ArrayLike | float
    ) -> float | np.ndarray:
        """Loss of N params trained on D tokens from U unique tokens (Muennighoff et al. 2023)."""
        n_eff = np.asarray(self.effective_params(N, U, D))
        d_eff = np.asarray(self.effective_data(D, U))
        return scalar_or_array(self.base.predict(n_eff, d_eff), np.broadcast(n_eff, d_eff))

    def params(self) -> dict[str, float]:
        return {**self.base.params(), "R_D_star": self.R_D_star, "R_N_star": self.R_N_star}

    def to_dict(self) -> dict[str, Any]:
        return jsonable({"law": "data_constrained", **self.params()})


# Muennighoff et al. 2023: base law (C4, alpha tied to beta) and R_D*, R_N* on the 182 runs
# (huggingface/datablations README.md and utils/parametric_fit.ipynb, cell "FIT OUR DOTS ...":
# R_D* = 15.387756, R_N* = 5.309743, 15.4 and 5.3 as rounded in the paper, §3.1).
MUENNIGHOFF_2023 = DataConstrainedLaw(
    base=MUENNIGHOFF_2023_BASE, R_D_star=15.387756, R_N_star=5.309743
)


def compute_optimal_constrained(
    C: ArrayLike | float,
    unique_tokens: ArrayLike | float,
    fit: DataConstrainedLaw,
    *,
    ratio_range: float = 1e6,
) -> tuple[float | np.ndarray, float | np.ndarray]:
    """(N, D) minimising the data-constrained loss subject to 6 N D = C, U unique tokens.

    Muennighoff et al. 2023, §3.1 / Fig. 1 (right): with data limited to U, the optimum moves
    towards fewer parameters and more epochs. Solved numerically per (C, U): a dense scan of
    log N over D / N from 1/``ratio_range`` to ``ratio_range`` times the balanced point, then
    bounded Brent refinement (scipy.optimize.minimize_scalar) between the scan's neighbours of
    its minimum. The 2,001 scan points (a design choice) step log N by log(1e6) / 2000 = 0.007,
    fine enough that the bracket holds the minimum of a law that is unimodal in log N.
    """
    from scipy.optimize import minimize_scalar

    Cb, Ub = np.broadcast_arrays(
        np.asarray(positive_array("C", C)).reshape(np.shape(C)),
        np.asarray(positive_array("unique_tokens", unique_tokens)).reshape(np.shape(unique_tokens)),
    )
    n_out = np.empty(Cb.shape)
    for idx in np.ndindex(Cb.shape):
        c, u = float(Cb[idx]), float(Ub[idx])
        half = 0.5 * math.log(c / 6.0)
        span = 0.5 * math.log(ratio_range)
        grid = np.linspace(half - span, half + span, 2001)

        def loss_at(log_n: np.ndarray | float, c: float = c, u: float = u) -> np.ndarray:
            nn = np.exp(log_n)
            return np.asarray(fit.predict(nn, c / (6.0 * nn), u))

        vals = loss_at(grid)
        i = int(np.nanargmin(vals))
        lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)]
        best = minimize_scalar(
            lambda x: float(loss_at(x)), bounds=(lo, hi), method="bounded", options={"xatol": 1e-10}
        )
        n_out[idx] = math.exp(best.x)
    d_out = Cb / (6.0 * n_out)
    if np.ndim(C) == 0 and np.ndim(unique_tokens) == 0:
        return float(n_out), float(d_out)
    return n_out, d_out
