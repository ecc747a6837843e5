"""The likelihood-ratio test of one Chinchilla law against another (Besiroglu et al. 2024, §3).

Besiroglu et al. 2024 (arXiv:2404.10102), data_analysis.ipynb cells ``Ex-J5XYTtKLW`` to
``Ev34MHKhspPf``: for a published law only sigma is fitted (``scale_objective``); the statistic
is 2 (log L_fit - log L_pub) with a chi-square reference of 5 degrees of freedom ("6
parameters fitted for best fit - 1 parameter (scale) fit for chinchilla"), by Wilks' theorem
(Wilks 1938, Ann. Math. Stat. 9). Epoch's numbers on 240 points: log L = 562.25 for the
rounded law of Hoffmann et al. (``HOFFMANN_2022``), 837.78 for their unrounded estimates
(``HOFFMANN_2022_UNROUNDED``), 879.77 for the refit; statistic 84.00, p = 1.22e-16.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from scaling.core.errors import UserError
from scaling.fit._common import ArrayLike, jsonable
from scaling.fit.compare.density import _check_delta
from scaling.fit.compare.likelihood import (
    HuberLikelihoodFit,
    _data,
    _default_starts,
    huber_likelihood_fit,
)
from scaling.fit.parametric import PARAM_NAMES, ChinchillaLaw


@dataclass(frozen=True)
class LikelihoodRatioResult:
    """Likelihood-ratio test of ``null`` (restricted) against ``alternative``.

    ``statistic`` = 2 (log L_alternative - log L_null); ``dof`` = number of parameters free in
    the alternative and fixed in the null (``freed``; sigma is fitted in both and cancels);
    ``p_value`` = chi2(dof) survival function (Wilks 1938), NaN when dof is 0 (two fixed laws:
    the likelihood ratio has no chi-square reference). ``log10_p_value`` stays finite where
    ``p_value`` underflows to 0.
    """

    null: HuberLikelihoodFit
    alternative: HuberLikelihoodFit
    statistic: float
    dof: int
    p_value: float
    log10_p_value: float
    freed: tuple[str, ...]
    note: str = ""

    @property
    def rejected(self) -> bool:
        """True when the null is rejected at the 5% level."""
        return bool(self.p_value < 0.05)

    def to_dict(self) -> dict[str, Any]:
        return jsonable(
            {
                "test": "likelihood ratio, Huber density with fitted scale (Wilks 1938)",
                "null": self.null.to_dict(),
                "alternative": self.alternative.to_dict(),
                "statistic": self.statistic,
                "dof": self.dof,
                "p_value": self.p_value,
                "log10_p_value": self.log10_p_value,
                "freed": list(self.freed),
                "rejected_at_5pct": self.rejected if self.dof > 0 else None,
                "note": self.note,
            }
        )


def _chi2_p(stat: float, dof: int) -> tuple[float, float]:
    from scipy.stats import chi2

    if dof <= 0 or not np.isfinite(stat):
        if dof > 0 and stat == float("inf"):
            return 0.0, float("-inf")
        return float("nan"), float("nan")
    s = max(stat, 0.0)
    return float(chi2.sf(s, dof)), float(chi2.logsf(s, dof) / math.log(10))


def likelihood_ratio_test(
    params: ArrayLike,
    tokens: ArrayLike,
    loss: ArrayLike,
    law_a: ChinchillaLaw,
    law_b_or_fit: ChinchillaLaw | None = None,
    *,
    delta: float = 1e-3,
    n_starts: int | None = 500,
    seed: int = 0,
) -> LikelihoodRatioResult:
    """Likelihood-ratio test of law A (null) against law B, both with a fitted Huber scale.

    Besiroglu et al. 2024, data_analysis.ipynb cells Ex-J5XYTtKLW, BHNctMDYmfrx, Mh18gJlRre1V
    and Ev34MHKhspPf: log L of a published law with only sigma fitted, log L of the 6-number
    maximum-likelihood fit, statistic 2 Delta log L against chi2 with 5 dof ("6 parameters
    fitted for best fit - 1 parameter (scale) fit for chinchilla").

    Each side is a ``ChinchillaLaw`` (all five parameters fixed, sigma fitted on these data) or
    a ``HuberLikelihoodFit`` from ``huber_likelihood_fit`` on the same data (its ``fixed`` ones
    held). ``law_b_or_fit=None`` fits all five here. A ``ChinchillaFit`` counts as a fixed law.
    The models must be nested: every parameter fixed in B is fixed in A at the same value; the
    degrees of freedom are the parameters freed from A to B.
    """
    d = _check_delta(delta)
    log_n, log_d, log_l, key = _data(params, tokens, loss, d)
    data = (np.exp(log_n), np.exp(log_d), np.exp(log_l), key, d, n_starts, seed)
    if law_a is None:
        raise UserError("law_a: give the null law (a ChinchillaLaw or a HuberLikelihoodFit)")
    fit_a = _side("law_a", law_a, None, data)
    fit_b = _side("law_b_or_fit", law_b_or_fit, fit_a.law, data)
    stat = 2.0 * (fit_b.log_likelihood - fit_a.log_likelihood)
    freed, note = _nesting(fit_a, fit_b)
    dof = len(freed)
    # a negative statistic beyond 1e-6 of |log L| (far above the rounding of the sums, far below
    # any difference the test resolves) means the alternative's optimiser stopped short
    if dof > 0 and stat < -1e-6 * max(1.0, abs(fit_a.log_likelihood)):
        note = (
            "the alternative's maximum lies below the null's: its fit did not reach the "
            "optimum (refit law B with more starts)"
        )
    p, log10_p = _chi2_p(stat, dof)
    return LikelihoodRatioResult(
        null=fit_a,
        alternative=fit_b,
        statistic=float(stat),
        dof=dof,
        p_value=p,
        log10_p_value=log10_p,
        freed=freed,
        note=note,
    )


def _side(
    name: str, obj: ChinchillaLaw | None, start: ChinchillaLaw | None, data: tuple
) -> HuberLikelihoodFit:
    """One side of the test as a ``HuberLikelihoodFit`` on ``data`` (N, D, L, data key, delta,
    n_starts, seed): a fit on the same data as it is, a law with only sigma fitted, or (None)
    the full fit, with ``start`` (the null's law) as one more start so that log L_B >= log L_A.
    """
    N, D, L, key, d, n_starts, seed = data
    if isinstance(obj, HuberLikelihoodFit):
        if obj.data_key != key:
            raise UserError(
                f"{name}: this HuberLikelihoodFit was fitted on other data or another "
                "delta; refit it on these points with huber_likelihood_fit"
            )
        return obj
    if obj is None:  # full fit; the null's law is one more start, so log L_B >= log L_A
        starts = _default_starts(N, D, L, n_starts, seed)
        return huber_likelihood_fit(N, D, L, delta=d, starts=[*starts, start])
    if isinstance(obj, ChinchillaLaw):
        return huber_likelihood_fit(N, D, L, delta=d, fixed=obj)
    raise UserError(
        f"{name}: expected a ChinchillaLaw or HuberLikelihoodFit, got {type(obj).__name__}"
    )


def _nesting(fit_a: HuberLikelihoodFit, fit_b: HuberLikelihoodFit) -> tuple[tuple[str, ...], str]:
    """(parameters freed from A to B, note); ``UserError`` unless B nests A (every parameter
    fixed in B fixed in A at the same value, to relative 1e-12: the same float up to rounding)
    or both are fixed laws (compared, with no chi-square reference)."""
    fixed_a, fixed_b = dict(fit_a.fixed), dict(fit_b.fixed)
    nested = set(fixed_b) <= set(fixed_a) and all(
        math.isclose(fixed_a[k], v, rel_tol=1e-12, abs_tol=0.0) for k, v in fixed_b.items()
    )
    freed = tuple(k for k in PARAM_NAMES if k in fixed_a and k not in fixed_b)
    note = ""
    if not nested:
        if fixed_a.keys() == fixed_b.keys() == set(PARAM_NAMES):
            return (), (
                "two fixed laws: the likelihood ratio compares them but has no chi-square "
                "reference (no parameter is freed)"
            )
        raise UserError(
            f"law_a and law_b are not nested (A fixes {sorted(fixed_a)}, B fixes "
            f"{sorted(fixed_b)}); the chi-square reference needs B to free some of A's "
            "fixed parameters and hold the rest at A's values"
        )
    if not freed:
        note = "the two models have the same free parameters: no test (dof 0)"
    return freed, note
