"""The data-constrained fit's result: ``DataConstrainedFit`` and the rules that judge whether
R_D*, R_N* and the base parameters are identified by the data.

The law is Muennighoff et al. 2023 (arXiv:2305.16264) §3.1 eqs. (5)-(7)
(``scaling.fit.constrained.law``). Identification limits (``R_STAR_MIN``,
``R_STAR_FLAT_FACTOR``) are derived below from the law's formula; ``_identify`` applies them to
the estimate and to every interval bound.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from scaling.fit._common import jsonable
from scaling.fit.constrained.law import DataConstrainedLaw, unique_params
from scaling.fit.parametric import ChinchillaLaw

if TYPE_CHECKING:
    from scaling.fit.holdout import HoldoutResult


# Base modes of ``fit_data_constrained`` and the names of the fitted repetition constants.
BASE_MODES: tuple[str, ...] = ("free", "tied", "fixed")
R_STAR_NAMES: tuple[str, str] = ("R_D_star", "R_N_star")
_REP_NAMES = {"R_D_star": "R_D", "R_N_star": "R_N"}

# Identification limits for R_D*, R_N* (see ``DataConstrainedFit``):
# - R_STAR_MIN: below R* = 0.01 all repetitions together are worth at most 1% of U (D' <=
#   U (1 + R*), eqs. 5-7), so the data term B / D'^beta moves by under beta * 1% ~ 0.35% (beta =
#   0.353 in MUENNIGHOFF_2023_BASE), the size of one run's loss noise: smaller R* are all "worth
#   nothing" and cannot be told apart.
# - R_STAR_FLAT_FACTOR: with R* = 10 max(R) the decay R* (1 - exp(-R / R*)) stays within
#   1 - (1 - e^-0.1) / 0.1 = 4.8% of R at the largest R in the data, i.e. repetition has not
#   visibly started to decay anywhere in the sampled range; any larger R* is "never decays
#   here" (on the 182 datablations runs max R_D = 8999 epochs and max R_N = 214 under
#   MUENNIGHOFF_2023_BASE, so the limits are R_D* 9.0e4 and R_N* 2.1e3).
R_STAR_MIN: float = 1e-2
R_STAR_FLAT_FACTOR: float = 10.0


@dataclass(frozen=True)
class DataConstrainedFit(DataConstrainedLaw):
    """A fitted data-constrained law.

    ``r2`` is on the loss (sklearn ``r2_score(loss, predicted)``, the computation of the
    datablations notebook after its "Fix r2 calculation" commit); ``r2_plain`` is the R^2 of
    the base law with no repetition correction (D' = D, N' = N) on the same points.
    ``base_mode`` is "free" (E, A, B, alpha, beta fitted jointly with R_D*, R_N*), "tied" (the
    same with alpha = beta, 6 parameters, as the paper's base fit) or "fixed" (base held, only
    R_D*, R_N* fitted, the paper's procedure); ``fitted_base`` is ``base_mode != "fixed"`` and
    ``base_source`` says where a fixed base came from.

    Uncertainty: ``intervals`` holds bootstrap percentile intervals (rows resampled with
    replacement; ``n_bootstrap_failed`` resamples whose refit did not converge or ended at a
    non-finite point are NaN in ``bootstrap_samples`` and left out). ``profile_intervals``
    (fixed base only) holds profile-objective intervals for R_D*, R_N*: the set of R* where the
    Huber objective, minimised over the other R*, stays within ``profile_threshold`` of its
    minimum (see ``profile_threshold``); a bound that runs off the profile grid
    [R_STAR_MIN, R_STAR_FLAT_FACTOR max(R)] is 0 (lower) or inf (upper). ``profiles`` holds the
    grid and objective - minimum for plotting.

    Identification: ``identified[name]`` is False when the estimate lies outside
    [R_STAR_MIN, R_STAR_FLAT_FACTOR x max R in the data] (``r_star_range``), when an interval
    bound (profile or bootstrap) does, or when the data hold no repetition (max R = 0) so R*
    has no effect; base parameters are not identified when non-finite, with a non-positive
    exponent or a non-finite bootstrap bound. ``notes`` says why, in words. ``summary()`` gives
    NaN (printed "-") as the value of a parameter that is not identified, and its interval
    with bounds outside the plausible range shown as 0 / inf. ``converged`` and
    ``optimizer_message`` are scipy L-BFGS-B's status for the final polish of the best optimum.
    """

    objective: float = float("nan")
    n_points: int = 0
    r2: float = float("nan")
    r2_plain: float = float("nan")
    fitted_base: bool = False
    huber_delta: float = 1e-3
    ci: float = 0.95
    base_mode: str = "fixed"
    base_source: str = ""
    converged: bool = True
    optimizer_message: str = ""
    n_bootstrap_failed: int = 0
    profile_threshold: float = float("nan")
    identified: dict[str, bool] = field(default_factory=dict, compare=False)
    notes: list[str] = field(default_factory=list, compare=False)
    max_repetitions: dict[str, float] = field(default_factory=dict, compare=False)
    r_star_range: dict[str, tuple[float, float]] = field(default_factory=dict, compare=False)
    profile_intervals: dict[str, tuple[float, float]] = field(default_factory=dict, compare=False)
    profiles: dict[str, tuple[np.ndarray, np.ndarray]] = field(
        default_factory=dict, compare=False, repr=False
    )
    residuals: np.ndarray = field(default_factory=lambda: np.empty(0), compare=False, repr=False)
    intervals: dict[str, tuple[float, float]] = field(default_factory=dict, compare=False)
    bootstrap_samples: dict[str, np.ndarray] = field(
        default_factory=dict, compare=False, repr=False
    )
    holdout: HoldoutResult | None = field(default=None, compare=False, repr=False)

    @property
    def law(self) -> DataConstrainedLaw:
        return DataConstrainedLaw(self.base, self.R_D_star, self.R_N_star)

    def fitted_names(self) -> list[str]:
        """The fitted quantities: all seven, or R_D*, R_N* with a fixed base."""
        return list(self.params()) if self.fitted_base else list(R_STAR_NAMES)

    def interval(self, name: str) -> tuple[float, float] | None:
        """The interval shown for ``name``: the profile interval when computed, else bootstrap."""
        return self.profile_intervals.get(name) or self.intervals.get(name)

    def summary(self) -> dict[str, tuple[float, tuple[float, float] | None]]:
        """name -> (value, interval or None); value NaN when not identified (see class doc)."""
        p = self.params()
        out: dict[str, tuple[float, tuple[float, float] | None]] = {}
        for k in self.fitted_names():
            iv = self.interval(k)
            if self.identified.get(k, True):
                out[k] = (p[k], iv)
                continue
            if iv is not None and k in self.r_star_range:
                lo_ok, hi_ok = self.r_star_range[k]
                iv = (iv[0] if iv[0] >= lo_ok else 0.0, iv[1] if iv[1] <= hi_ok else math.inf)
            out[k] = (float("nan"), iv)
        return out

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            **super().to_dict(),
            "fitted_base": self.fitted_base,
            "base_mode": self.base_mode,
            "base_source": self.base_source,
            "objective": self.objective,
            "objective_kind": f"sum of Huber(delta={self.huber_delta:g}) on log loss",
            "n_points": self.n_points,
            "r2": self.r2,
            "r2_plain": self.r2_plain,
            "converged": self.converged,
            "optimizer_message": self.optimizer_message,
            "ci": self.ci,
            "intervals": {k: list(v) for k, v in self.intervals.items()},
            "interval_method": {
                k: "profile" if k in self.profile_intervals else "bootstrap"
                for k in self.fitted_names()
                if self.interval(k) is not None
            },
            "profile_intervals": {k: list(v) for k, v in self.profile_intervals.items()},
            "profile_threshold": self.profile_threshold,
            "n_bootstrap": len(next(iter(self.bootstrap_samples.values()), ())),
            "n_bootstrap_failed": self.n_bootstrap_failed,
            "identified": dict(self.identified),
            "notes": list(self.notes),
            "max_repetitions": dict(self.max_repetitions),
            "r_star_range": {k: list(v) for k, v in self.r_star_range.items()},
            "residuals_log": self.residuals,
        }
        if self.holdout is not None:
            out["holdout"] = self.holdout.to_dict()
        return jsonable(out)


def _max_repetitions(
    log_n: np.ndarray, log_u: np.ndarray, r_d: np.ndarray, base: ChinchillaLaw
) -> dict[str, float]:
    """Largest R_D = D / U_D - 1 and R_N = N / U_N - 1 in the data under ``base`` (§3.1)."""
    with np.errstate(all="ignore"):
        nu = np.asarray(unique_params(np.exp(log_u), base), dtype=float)
        r_n = np.maximum(np.exp(log_n) / np.minimum(np.exp(log_n), nu) - 1.0, 0.0)
    r_n = r_n[np.isfinite(r_n)]
    return {"R_D": float(r_d.max()), "R_N": float(r_n.max()) if r_n.size else 0.0}


def _identify(
    names: Sequence[str],
    values: dict[str, float],
    r_star_range: dict[str, tuple[float, float]],
    max_rep: dict[str, float],
    profile_iv: dict[str, tuple[float, float]],
    boot_iv: dict[str, tuple[float, float]],
    ci: float,
) -> tuple[dict[str, bool], list[str]]:
    """identified[name] and notes (rules in the ``DataConstrainedFit`` docstring)."""
    ok: dict[str, bool] = {}
    notes: list[str] = []
    for k in names:
        v = values[k]
        if k in R_STAR_NAMES:
            rep = _REP_NAMES[k]
            lo_ok, hi_ok = r_star_range[k]
            why: list[str] = []
            if max_rep[rep] <= 0:
                why.append(f"no point has {rep} > 0, so {k} has no effect on the fit")
            elif not math.isfinite(v) or v > hi_ok:
                why.append(
                    f"estimate {v:.3g} exceeds {R_STAR_FLAT_FACTOR:g} x the largest {rep} in "
                    f"the data ({max_rep[rep]:.4g}): no decay of repetition value is visible"
                )
            elif v < lo_ok:
                why.append(f"estimate {v:.3g} is below {R_STAR_MIN:g}: repetitions worth nothing")
            for label, ivs in (("profile", profile_iv), ("bootstrap", boot_iv)):
                iv = ivs.get(k)
                if iv is None or max_rep[rep] <= 0:
                    continue
                if not (iv[1] <= hi_ok):
                    why.append(
                        f"the {ci:.0%} {label} interval's upper bound "
                        f"({_fmt_bound(iv[1])}) is past {hi_ok:.3g}"
                        + (" (the profile is flat to the grid's end)" if label == "profile" else "")
                    )
                if not (iv[0] >= lo_ok):
                    why.append(
                        f"the {ci:.0%} {label} interval's lower bound "
                        f"({_fmt_bound(iv[0])}) is below {lo_ok:g}"
                    )
            ok[k] = not why
            if why:
                notes.append(f"{k} not identified: " + "; ".join(why))
        else:
            bad = not math.isfinite(v) or (k in ("alpha", "beta") and v <= 0)
            iv = boot_iv.get(k)
            if iv is not None and not all(math.isfinite(b) for b in iv):
                bad = True
            ok[k] = not bad
            if bad:
                notes.append(f"{k} not identified: estimate {v:.4g}, interval {iv}")
    return ok, notes


def _fmt_bound(x: float) -> str:
    return "inf" if x == math.inf else f"{x:.3g}"
