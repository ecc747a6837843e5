"""The result types of approach 2: one budget's minimum (``IsoFlopMinimum``) and the fit
across budgets (``IsoFlopFit``, Hoffmann et al. 2022 §3.2), with their JSON forms."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from scaling.fit._common import ArrayLike, jsonable, percentile_interval
from scaling.fit.powerlaw import PowerLaw

if TYPE_CHECKING:
    from scaling.fit.holdout import HoldoutResult
    from scaling.fit.isoflop.varpro import VarProSurface


@dataclass(frozen=True)
class IsoFlopMinimum:
    """The loss minimum of one FLOP budget (Hoffmann et al. 2022, §3.2) with diagnostics.

    ``centring``: (log N_opt - log N_min) / (log N_max - log N_min), 0.5 = centred sampling;
    ``curvature``: second derivative of the profile's loss w.r.t. log N at the minimum;
    ``points_left`` / ``points_right``: distinct sampled N strictly below / above N_opt;
    ``sigma_log_n``: the bootstrap sigma of log N_opt used as weight (NaN without bootstrap);
    ``n_bootstrap_valid``: resamples in which this budget had an interior minimum.
    """

    flops: float
    n_opt: float
    d_opt: float
    loss_opt: float
    n_points: int
    interior: bool
    reason: str | None = None
    n_min: float = float("nan")
    n_max: float = float("nan")
    used: bool = False  # entered the power laws
    centring: float = float("nan")
    curvature: float = float("nan")
    points_left: int = 0
    points_right: int = 0
    sigma_log_n: float = float("nan")
    n_bootstrap_valid: int = 0

    @property
    def tokens_per_param(self) -> float:
        """D_opt / N_opt at this budget."""
        return self.d_opt / self.n_opt if self.n_opt > 0 else float("nan")

    def to_dict(self) -> dict[str, Any]:
        return jsonable(
            {
                "flops": self.flops,
                "n_opt": self.n_opt,
                "d_opt": self.d_opt,
                "loss_opt": self.loss_opt,
                "tokens_per_param": self.tokens_per_param,
                "n_points": self.n_points,
                "interior": self.interior,
                "used": self.used,
                "reason": self.reason,
                "n_range": [self.n_min, self.n_max],
                "centring": self.centring,
                "curvature": self.curvature,
                "points_left": self.points_left,
                "points_right": self.points_right,
                "sigma_log_n": self.sigma_log_n,
                "n_bootstrap_valid": self.n_bootstrap_valid,
            }
        )


@dataclass(frozen=True)
class IsoFlopFit:
    """Approach-2 result: per-budget minima and the power laws across interior budgets.

    ``n_opt_law``: N_opt = coef C^a; ``d_opt_law``: D_opt = coef C^b; ``loss_opt_law``: the
    minimum loss per budget as a pure power law in C (the form of Kaplan et al. 2020's
    L(C_min)), used for hold-out checks; ``tokens_per_param_law``: D_opt / N_opt = coef C^(b - a).
    ``d_opt_source`` says whether D_opt was read from the runs' token counts ("tokens",
    log-linear interpolation in log N within the budget) or set to C / (6 N_opt) ("C/(6N)").
    ``r2`` and ``residuals`` are on the loss of every run in the interior budgets against its
    budget's profile; ``objective`` is their sum of squares. ``weighting`` says how the power
    laws were fitted ("none", or "1/sigma^2 (bootstrap sigma of log N_opt)"); ``n_bootstrap``
    resamples were asked for and ``n_bootstrap_failed`` of them gave no exponent. ``surface``
    is the VarPro surface for ``method="varpro"``.
    """

    minima: tuple[IsoFlopMinimum, ...]
    n_opt_law: PowerLaw
    d_opt_law: PowerLaw
    loss_opt_law: PowerLaw
    tokens_per_param_law: PowerLaw
    method: str
    d_opt_source: str
    r2: float
    objective: float
    n_points: int
    residuals: np.ndarray = field(default_factory=lambda: np.empty(0), compare=False, repr=False)
    bootstrap_samples: dict[str, np.ndarray] = field(
        default_factory=dict, compare=False, repr=False
    )
    holdout: HoldoutResult | None = field(default=None, compare=False, repr=False)
    n_bootstrap: int = 0
    n_bootstrap_failed: int = 0
    weighting: str = "none"
    surface: VarProSurface | None = field(default=None, compare=False)

    @property
    def a(self) -> float:
        """Exponent of N_opt ∝ C^a."""
        return self.n_opt_law.exponent

    @property
    def b(self) -> float:
        """Exponent of D_opt ∝ C^b."""
        return self.d_opt_law.exponent

    @property
    def ci(self) -> float:
        """Coverage of the exponent intervals."""
        return self.n_opt_law.ci

    @property
    def interior(self) -> tuple[IsoFlopMinimum, ...]:
        """The budgets whose minimum lies inside the sampled N range."""
        return tuple(m for m in self.minima if m.interior)

    @property
    def used(self) -> tuple[IsoFlopMinimum, ...]:
        """The budgets used for the power laws (the interior ones unless told otherwise)."""
        return tuple(m for m in self.minima if m.used)

    @property
    def excluded(self) -> dict[float, str]:
        """flops -> reason, for the budgets left out of the power laws."""
        return {m.flops: m.reason or "" for m in self.minima if not m.used}

    @property
    def tokens_per_param(self) -> np.ndarray:
        """D_opt / N_opt at each budget used (in ``used`` order)."""
        return np.array([m.tokens_per_param for m in self.used])

    def compute_optimal(self, C: ArrayLike | float) -> tuple[float | np.ndarray, ...]:
        """(N_opt, D_opt) at compute C from the fitted power laws."""
        return self.n_opt_law.predict(C), self.d_opt_law.predict(C)

    def summary(self) -> dict[str, tuple[float, tuple[float, float] | None]]:
        """Fitted quantities with their intervals (coefficients: bootstrap percentiles of the
        refitted laws' coefficients); counts and diagnostics are in ``to_dict``."""
        s = self.bootstrap_samples
        ci = self.ci

        def coef_iv(key: str) -> tuple[float, float] | None:
            return percentile_interval(s[key], ci) if key in s else None

        out: dict[str, tuple[float, tuple[float, float] | None]] = {
            "a (N_opt ∝ C^a)": (self.a, self.n_opt_law.interval),
            "b (D_opt ∝ C^b)": (self.b, self.d_opt_law.interval),
            "N_opt coef": (self.n_opt_law.coef, coef_iv("n_coef")),
            "D_opt coef": (self.d_opt_law.coef, coef_iv("d_coef")),
        }
        if self.surface is not None:
            out["surface a = beta/(alpha+beta)"] = (self.surface.a, None)
        return out

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "law": "isoflop",
            "method": self.method,
            "d_opt_source": self.d_opt_source,
            "a": self.a,
            "b": self.b,
            "n_opt_law": self.n_opt_law.to_dict(),
            "d_opt_law": self.d_opt_law.to_dict(),
            "loss_opt_law": self.loss_opt_law.to_dict(),
            "tokens_per_param_law": self.tokens_per_param_law.to_dict(),
            "minima": [m.to_dict() for m in self.minima],
            "excluded": [{"flops": m.flops, "reason": m.reason} for m in self.minima if not m.used],
            "r2": self.r2,
            "objective": self.objective,
            "objective_kind": "sum of squared loss residuals against each budget's profile",
            "n_points": self.n_points,
            "n_bootstrap": self.n_bootstrap,
            "n_bootstrap_failed": self.n_bootstrap_failed,
            "weighting": self.weighting,
        }
        if self.surface is not None:
            out["surface"] = self.surface.to_dict()
        if self.holdout is not None:
            out["holdout"] = self.holdout.to_dict()
        return jsonable(out)
