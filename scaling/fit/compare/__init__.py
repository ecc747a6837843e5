"""Does a published Chinchilla law agree with the data?  Model comparison as Epoch AI did it.

Besiroglu, Erdil, Barnett & You 2024, "Chinchilla Scaling: A replication attempt"
(arXiv:2404.10102, §3 "Hoffmann et al.'s estimates fit the data poorly" and App. A), with
their code epoch-research/analyzing-chinchilla, ``data_analysis.ipynb`` (cell ids in brackets):

1. **Huber loss as a likelihood** [cell ``NwwVqy2CZ4Bq``, functions ``huber_logpdf`` and
   ``objective``]. The log residual r = log L - LSE(a - alpha log N, b - beta log D, e) has the
   density of the Huber loss normalised on the real line, with a fitted scale sigma:

       log p(r) = -H_delta(r / sigma) - log Z(delta) - log sigma,
       Z(delta) = sqrt(2 pi) erf(delta / sqrt 2) + 2 exp(-delta^2 / 2) / delta,

   (H_delta the Huber loss, delta = 1e-3 on the *standardised* residual; Z is the integral of
   exp(-H_delta) over the real line, Epoch's ``huber_normalizing_factor``). The six numbers
   (a, b, e, alpha, beta, log sigma) are fitted by maximum likelihood [cell ``Pyi4B06nLKpT``].
   With delta = 1e-3 the fitted sigma is about delta * mean|r| (~5e-6 on the Epoch data), so
   delta * sigma is ~1e-8 and the density is, in effect, a Laplace density of scale mean|r|:
   the estimate of the law is close to a least-absolute-deviation fit, not to the Huber-loss
   fit of Hoffmann et al. Their Table 1 reports this maximum-likelihood estimate.
2. **Likelihood-ratio test** [cells ``Ex-J5XYTtKLW`` to ``Ev34MHKhspPf``]. For a published
   law only sigma is fitted (``scale_objective``); the statistic is 2 (log L_fit - log L_pub)
   with a chi-square reference of 5 degrees of freedom ("6 parameters fitted for best fit - 1
   parameter (scale) fit for chinchilla"), by Wilks' theorem (Wilks 1938, Ann. Math. Stat. 9).
   Epoch's numbers on 240 points: log L = 562.25 for the rounded law of Hoffmann et al. (our
   ``HOFFMANN_2022``), 837.78 for their unrounded estimates (``HOFFMANN_2022_UNROUNDED``),
   879.77 for the refit; statistic 84.00, p = 1.22e-16 (unrounded law).
3. **Chi-square test against the bootstrap** [cells ``oLoFowoEIoV1``, ``oXSCOQ4rIuIn``,
   ``Ff11hpSvrMKf``]: chi2 = (theta_pub - theta_hat)^T Sigma^-1 (theta_pub - theta_hat), Sigma
   the covariance of 4,000 bootstrap refits (rows resampled with replacement) in the fitted
   parametrisation (log A, log B, log E, alpha, beta), dof 5. Epoch: chi2 = 238.40,
   p = 1.69e-49 for the unrounded estimates of Hoffmann et al. (their §3: the published
   estimates are rejected; their own estimate lies at the centre of its bootstrap).

The p-values assume the Huber density is the error model and the points independent; both are
approximations for points read off a figure. Calibration check (tests/test_fit_compare.py
design, 120 points from a known law with Laplace noise, 30 data sets): the true law got p < 0.05
in 3/30 likelihood-ratio tests and 4/30 chi-square tests (100 resamples; 2/30 below 1e-3, where
the bootstrap covariance is ill-conditioned, condition ~1e6-1e7). Both tests are somewhat
liberal at this size: read a p-value of 1e-3 as a warning, one of 1e-50 as a rejection.
Only numpy and scipy are used (imported when first needed).

One module per job: ``density`` (the Huber density and the exact scale profile),
``likelihood`` (``huber_likelihood_fit``), ``lrt`` (``likelihood_ratio_test``), ``chisquare``
(``chi_square_against_bootstrap``) and ``published`` (``compare_published``,
``format_comparison``, ``HOFFMANN_2022_UNROUNDED``).
"""

from __future__ import annotations

from scaling.fit.compare.chisquare import LOG_PARAMS, ChiSquareResult, chi_square_against_bootstrap
from scaling.fit.compare.density import huber_log_normaliser, huber_logpdf, profile_sigma
from scaling.fit.compare.likelihood import HuberLikelihoodFit, huber_likelihood_fit
from scaling.fit.compare.lrt import LikelihoodRatioResult, likelihood_ratio_test
from scaling.fit.compare.published import (
    HOFFMANN_2022_UNROUNDED,
    PublishedComparison,
    compare_published,
    format_comparison,
)

__all__ = [
    "HOFFMANN_2022_UNROUNDED",
    "LOG_PARAMS",
    "ChiSquareResult",
    "HuberLikelihoodFit",
    "LikelihoodRatioResult",
    "PublishedComparison",
    "chi_square_against_bootstrap",
    "compare_published",
    "format_comparison",
    "huber_likelihood_fit",
    "huber_log_normaliser",
    "huber_logpdf",
    "likelihood_ratio_test",
    "profile_sigma",
]
