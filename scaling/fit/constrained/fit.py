"""``fit_data_constrained``: the fit driver of the data-constrained law (Muennighoff et al. 2023,
arXiv:2305.16264, §3.1), on the engine ``scaling.fit.multistart``.

Base modes (``base=``, ``resolve_base``): "free" (all seven parameters), "tied" (alpha = beta,
six, as the paper's base fit), or fixed (a ``ChinchillaLaw``, a preset name or a JSON law file,
see ``scaling.fit.lawfile.load_law``; only R_D*, R_N* fitted, the paper's procedure). The
driver checks the inputs, runs the engine's multistart and polish from ``_starts``, adds the
profile intervals (fixed base, ``scaling.fit.constrained.profile``) and the bootstrap, and
judges identification (``scaling.fit.constrained.result``).

Local minima: the objective has several in (R_D*, R_N*) and is nearly flat in R_D*. The
published 15.4 / 5.3 (reached by the notebook's torch L-BFGS from R* in np.linspace(0, 20, 4))
is one of them; on the 182 published runs the default starts find a slightly lower one at
R_D* ~ 95.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from scaling.core.errors import UserError
from scaling.fit._common import (
    ArrayLike,
    check_ci,
    check_count,
    huber,
    need_points,
    positive_array,
    r2_score,
    same_length,
)
from scaling.fit._optim import BatchObjective
from scaling.fit.constrained.law import DataConstrainedLaw
from scaling.fit.constrained.objective import (
    _base_from_theta,
    _full_theta,
    _n_params,
    _objective,
    _starts,
    _theta_base,
)
from scaling.fit.constrained.profile import ProfileIntervals, profile_intervals
from scaling.fit.constrained.result import (
    _REP_NAMES,
    R_STAR_FLAT_FACTOR,
    R_STAR_MIN,
    R_STAR_NAMES,
    DataConstrainedFit,
    _identify,
    _max_repetitions,
)
from scaling.fit.multistart import Multistart, Optima, Refits, percentile_intervals
from scaling.fit.parametric import MUENNIGHOFF_2023_BASE, ChinchillaLaw

BaseSpec = ChinchillaLaw | str | os.PathLike[str] | None


def resolve_base(base: BaseSpec) -> tuple[str, ChinchillaLaw | None, str]:
    """(mode, fixed law or None, source) for ``fit_data_constrained``'s ``base`` argument.

    None or "free": all seven parameters fitted; "tied": alpha = beta (six parameters, as
    Muennighoff et al. 2023 fit their C4 base law, utils/parametric_fit.ipynb); a
    ``ChinchillaLaw`` (fixed); any other string or path: ``load_law`` (a preset name such as
    "muennighoff2023" or a JSON law file), fixed.
    """
    if base is None:
        return "free", None, "fitted jointly (7 parameters)"
    if isinstance(base, ChinchillaLaw):
        law = ChinchillaLaw(base.E, base.A, base.B, base.alpha, base.beta)
        source = "MUENNIGHOFF_2023_BASE" if law == MUENNIGHOFF_2023_BASE else "given law"
    elif isinstance(base, str | os.PathLike):
        key = str(base).strip().lower()
        if key == "free":
            return "free", None, "fitted jointly (7 parameters)"
        if key == "tied":
            return "tied", None, "fitted jointly with alpha = beta (6 parameters)"
        from scaling.fit.lawfile import load_law

        law = load_law(base)
        source = str(base)
    else:
        raise UserError(
            "base: give None, 'free', 'tied', a ChinchillaLaw, a preset name or a JSON law "
            f"file, got {type(base).__name__}"
        )
    p = law.params()
    bad = [k for k, v in p.items() if not (math.isfinite(v) and v > 0)]
    if bad:
        raise UserError(
            f"base ({source}): {bad[0]} must be finite and > 0 for a fixed base, got {p[bad[0]]!r}"
        )
    return "fixed", law, source


@dataclass(frozen=True)
class _Data:
    """Checked points of one fit, in the objective's coordinates, and the base mode."""

    N: np.ndarray
    D: np.ndarray
    U: np.ndarray
    L: np.ndarray
    w: np.ndarray
    delta: float
    mode: str
    fixed_base: np.ndarray | None  # (log A, log B, log E, alpha, beta) of a fixed base
    log_n: np.ndarray
    log_u: np.ndarray  # log U_D, U_D = min(U, D)
    log_l: np.ndarray
    r_d: np.ndarray  # R_D = D / U_D - 1 (Muennighoff et al. 2023, §3.1)

    @classmethod
    def of(cls, N: np.ndarray, D: np.ndarray, U: np.ndarray, L: np.ndarray, **kw: Any) -> _Data:
        UD = np.minimum(U, D)
        logs = {"log_n": np.log(N), "log_u": np.log(UD), "log_l": np.log(L)}
        return cls(N, D, U, L, **kw, **logs, r_d=np.maximum(D / UD - 1.0, 0.0))

    def objective(self, weights: np.ndarray) -> BatchObjective:
        return _objective(
            self.mode,
            self.fixed_base,
            self.log_n,
            self.log_u,
            self.r_d,
            self.log_l,
            weights,
            self.delta,
        )

    def problem(self) -> Multistart:
        """The engine's problem: one double-precision objective for every stage, ``ftol`` 1e-10
        (2 to 7 parameters are cheap to run tight), 4 distinct optima polished."""
        return Multistart(
            law="data_constrained",
            objective=self.objective,
            rank_ftol=1e-10,
            boot_ftol=1e-10,
            n_polish=4,
        )


def _prepare(
    params: ArrayLike,
    tokens: ArrayLike,
    unique_tokens: ArrayLike,
    loss: ArrayLike,
    base: BaseSpec,
    weights: ArrayLike | None,
    huber_delta: float,
    ci: float,
    holdout: str | None,
    bootstrap: int,
) -> tuple[_Data, ChinchillaLaw | None, str, float]:
    """(data, fixed base law or None, base source, ci) checked; ``UserError`` names the first
    bad argument."""
    N = positive_array("params", params)
    D = positive_array("tokens", tokens)
    U = positive_array("unique_tokens", unique_tokens)
    L = positive_array("loss", loss)
    n = same_length(params=N, tokens=D, unique_tokens=U, loss=L)
    mode, base_law, source = resolve_base(base)
    n_par = _n_params(mode)
    what = "points (R_D*, R_N*)" if mode == "fixed" else f"points ({n_par} parameters)"
    need_points("data_constrained", n, n_par, what)
    w = np.ones(n) if weights is None else positive_array("weights", weights, allow_zero=True)
    same_length(loss=L, weights=w)
    ci = check_ci(ci)
    if holdout not in (None, "largest"):
        raise UserError(f"holdout: allowed values are None and 'largest', got {holdout!r}")
    check_count("bootstrap", bootstrap)
    fb = _theta_base(base_law) if base_law is not None else None
    data = _Data.of(N, D, U, L, w=w, delta=huber_delta, mode=mode, fixed_base=fb)
    return data, base_law, source, ci


def _point(data: _Data, theta: np.ndarray) -> tuple[DataConstrainedLaw, np.ndarray, float]:
    """The law at optimisation vector ``theta``, its predicted loss and summed Huber objective."""
    full = _full_theta(theta, data.mode, data.fixed_base)[0]
    with np.errstate(over="ignore"):
        r_stars = (float(np.exp(full[5])), float(np.exp(full[6])))
    law = DataConstrainedLaw(_base_from_theta(full), *r_stars)
    with np.errstate(all="ignore"):
        pred = np.asarray(law.predict(data.N, data.D, data.U), dtype=float)
        obj = float(np.sum(data.w * huber(np.log(pred) - data.log_l, data.delta)))
    return law, pred, obj


def _samples(refits: Refits, mode: str, fixed_base: np.ndarray | None) -> dict[str, np.ndarray]:
    """Bootstrap samples per parameter (NaN where the refit failed). log R* is capped at 700
    (exp overflows past 709.78, IEEE 754 double) so that a refit drifting towards R* = inf (no
    decay) keeps a finite, huge sample instead of overflowing."""
    full = _full_theta(refits.masked(), mode, fixed_base)
    full[:, 5:] = np.minimum(full[:, 5:], 700.0)
    with np.errstate(over="ignore"):
        out = {"R_D_star": np.exp(full[:, 5]), "R_N_star": np.exp(full[:, 6])}
        if mode != "fixed":
            out.update(
                {
                    "E": np.exp(full[:, 2]),
                    "A": np.exp(full[:, 0]),
                    "B": np.exp(full[:, 1]),
                    "alpha": full[:, 3],
                    "beta": full[:, 4],
                }
            )
    return out


def _bootstrap(
    data: _Data, optima: np.ndarray, n_boot: int, seed: int
) -> tuple[dict[str, np.ndarray], int, list[str]]:
    """Samples of ``n_boot`` refits on rows resampled with replacement, the failed count and a
    note when some failed (they are NaN in the samples).

    Every resample starts from the fit's best 3 distinct optima; with a fixed base (2-D refits
    are cheap) also from the default R* grid, against the objective's multimodality."""
    starts = optima[:3]
    if data.mode == "fixed":
        starts = np.vstack([starts, _starts("fixed", None, seed, None)])
    refits = data.problem().bootstrap(data.w, starts, n_boot, seed + 1)
    n_failed = refits.n_failed
    notes = []
    if n_failed:
        notes.append(
            f"{n_failed} of {n_boot} bootstrap refits failed (not converged or non-finite)"
            " and are left out of the intervals"
        )
    return _samples(refits, data.mode, data.fixed_base), n_failed, notes


def _fit(
    data: _Data, opt: Optima, source: str, ci: float, bootstrap: int, seed: int, profile: bool
) -> DataConstrainedFit:
    """The result of the best optimum with its profile and bootstrap intervals and notes."""
    law, pred, objective = _point(data, opt.theta[0])
    residuals = data.log_l - np.log(pred)
    max_rep = _max_repetitions(data.log_n, data.log_u, data.r_d, law.base)
    r_star_range = _r_star_range(max_rep)
    prof = ProfileIntervals()
    if data.mode == "fixed" and profile:
        fit_at = (objective, residuals, data.w)
        prof = profile_intervals(
            data.objective(data.w), opt, fit_at, data.delta, ci, r_star_range, max_rep
        )
    notes = list(prof.notes)
    if not opt.converged:
        notes.append(f"the optimiser did not report convergence: {opt.message}")
    samples: dict[str, np.ndarray] = {}
    n_failed = 0
    if bootstrap > 0:
        samples, n_failed, boot_notes = _bootstrap(data, opt.theta, bootstrap, seed)
        notes += boot_notes
    intervals = percentile_intervals(samples, ci)
    names = list(law.params()) if data.mode != "fixed" else list(R_STAR_NAMES)
    identified, id_notes = _identify(
        names, law.params(), r_star_range, max_rep, prof.intervals, intervals, ci
    )
    notes += _mode_notes(data.mode, bool(prof.intervals or intervals))
    return DataConstrainedFit(
        base=law.base,
        R_D_star=law.R_D_star,
        R_N_star=law.R_N_star,
        objective=objective,
        n_points=len(data.L),
        r2=r2_score(data.L, pred),
        r2_plain=r2_score(data.L, np.asarray(law.base.predict(data.N, data.D))),
        fitted_base=data.mode != "fixed",
        huber_delta=data.delta,
        ci=ci,
        base_mode=data.mode,
        base_source=source,
        converged=bool(opt.converged),
        optimizer_message=opt.message,
        n_bootstrap_failed=n_failed,
        profile_threshold=prof.threshold,
        identified=identified,
        notes=id_notes + notes,
        max_repetitions=max_rep,
        r_star_range=r_star_range,
        profile_intervals=prof.intervals,
        profiles=prof.profiles,
        residuals=residuals,
        intervals=intervals,
        bootstrap_samples=samples,
    )


def _r_star_range(max_rep: dict[str, float]) -> dict[str, tuple[float, float]]:
    """[R_STAR_MIN, R_STAR_FLAT_FACTOR x max R] per R* (``scaling.fit.constrained.result``)."""
    return {
        k: (R_STAR_MIN, max(R_STAR_FLAT_FACTOR * max_rep[_REP_NAMES[k]], R_STAR_MIN))
        for k in R_STAR_NAMES
    }


def _mode_notes(mode: str, any_interval: bool) -> list[str]:
    """Notes on the base mode and on a fit without intervals."""
    notes = []
    if mode == "tied":
        notes.append("alpha is tied to beta (the paper's base-law fit)")
    if not any_interval:
        how = "pass bootstrap=..." if mode != "fixed" else "pass profile=True or bootstrap=..."
        notes.append(f"no interval computed ({how}): identification judged from the estimates")
    return notes


def fit_data_constrained(
    params: ArrayLike,
    tokens: ArrayLike,
    unique_tokens: ArrayLike,
    loss: ArrayLike,
    *,
    base: BaseSpec = None,
    huber_delta: float = 1e-3,
    bootstrap: int = 0,
    seed: int = 0,
    ci: float = 0.95,
    weights: ArrayLike | None = None,
    n_starts: int | None = None,
    r_star_starts: Sequence[tuple[float, float]] | None = None,
    holdout: str | None = None,
    profile: bool = True,
) -> DataConstrainedFit:
    """Fit R_D*, R_N* (and the base law unless fixed) (Muennighoff et al. 2023, §3.1).

    ``base`` (see ``resolve_base``): None / "free" fits all seven parameters jointly from
    ``n_starts`` points of the Hoffmann et al. 2022 App. D.2 grid (default 300) times three R*
    pairs; "tied" does the same with alpha = beta (6 parameters); a ``ChinchillaLaw`` (e.g.
    ``MUENNIGHOFF_2023_BASE``), a preset name ("muennighoff2023", "hoffmann2022",
    "besiroglu2024") or a JSON law file holds the base fixed and fits only R_D*, R_N* -- the
    paper's procedure, whose base was fitted on Chinchilla's C4 isoFLOP points with alpha tied
    to beta. Objective: summed Huber(delta) of log residuals, log-sum-exp form.

    The objective has several local minima in (R_D*, R_N*) and is nearly flat in R_D* (module
    docstring): read the intervals rather than the point. ``r_star_starts`` (pairs) overrides
    the default log-spaced grid ``R_STAR_STARTS`` x ``R_STAR_STARTS``.

    Intervals: ``profile`` (fixed base only) computes profile-objective intervals of R_D*, R_N*
    (``profile_threshold``); ``bootstrap`` > 0 resamples rows with replacement for percentile
    intervals. ``holdout="largest"`` refits without the largest model and reports the relative
    error of its predicted loss. Identification of each parameter is judged as described in
    ``DataConstrainedFit``.
    """
    data, base_law, source, ci = _prepare(
        params, tokens, unique_tokens, loss, base, weights, huber_delta, ci, holdout, bootstrap
    )
    opt = data.problem().minimise(data.w, _starts(data.mode, n_starts, seed, r_star_starts))
    fit = _fit(data, opt, source, ci, bootstrap, seed, profile)
    if holdout == "largest":
        from scaling.fit.holdout import holdout_data_constrained

        kw = {
            "base": base_law if data.mode == "fixed" else data.mode,
            "huber_delta": huber_delta,
            "n_starts": n_starts,
            "seed": seed,
            "r_star_starts": r_star_starts,
            "profile": False,
        }
        held = holdout_data_constrained(
            data.N, data.D, data.U, data.L, refit=fit_data_constrained, **kw
        )
        fit = replace(fit, holdout=held)
    return fit
