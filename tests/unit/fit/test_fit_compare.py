"""Model comparison as Besiroglu et al. 2024 did it (scaling.fit.compare).

Epoch's published numbers (epoch-research/analyzing-chinchilla, data_analysis.ipynb), on the 240
points of Hoffmann et al.'s Fig. 4 left after dropping the 5 highest losses:
- Huber likelihood with fitted scale (cells Mh18gJlRre1V, Ev34MHKhspPf): log L = 562.25 for the
  rounded law of Hoffmann et al., 837.78 for their unrounded estimates, 879.77 for the refit
  (log A, log B, log E, alpha, beta) = (6.17795598, 7.64273236, 0.59711196, 0.34781303,
  0.36585412), log sigma = -12.2666; likelihood-ratio statistic 84.00, dof 5, p = 1.22e-16.
- Chi-square against 4,000 bootstrap refits (cell Ff11hpSvrMKf): chi2 = 238.40, dof 5,
  p = 1.69e-49 for the unrounded estimates of Hoffmann et al.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy.integrate import quad
from scipy.optimize import minimize_scalar
from scipy.stats import chi2

from scaling.core.errors import UserError
from scaling.fit._common import huber
from scaling.fit.compare import (
    HOFFMANN_2022_UNROUNDED,
    ChiSquareResult,
    HuberLikelihoodFit,
    LikelihoodRatioResult,
    chi_square_against_bootstrap,
    compare_published,
    format_comparison,
    huber_likelihood_fit,
    huber_log_normaliser,
    huber_logpdf,
    likelihood_ratio_test,
    profile_sigma,
)
from scaling.fit.parametric import BESIROGLU_2024, HOFFMANN_2022, ChinchillaLaw, fit_chinchilla
from tests.conftest import ANCHORS

TRUE = ChinchillaLaw(E=1.8, A=480.0, B=2100.0, alpha=0.35, beta=0.37)
WRONG = ChinchillaLaw(E=1.75, A=480.0, B=2100.0, alpha=0.35, beta=0.37)  # E off by 0.05


def _json(obj) -> str:
    return json.dumps(obj.to_dict(), allow_nan=False)


# --------------------------------------------------------------------------- the density


@pytest.mark.parametrize("delta", [1e-3, 0.1, 1.345, 3.0])
def test_huber_density_is_normalised(delta):
    sigma = 0.7
    tail, kink = 60 * sigma / min(delta, 1.0), delta * sigma  # split at the kinks
    cuts = [-np.inf, -tail, -kink, kink, tail, np.inf]
    total = sum(
        quad(lambda x: math.exp(huber_logpdf(x, sigma, delta)), lo, hi, epsrel=1e-11)[0]
        for lo, hi in itertools.pairwise(cuts)
    )
    assert total == pytest.approx(1.0, rel=1e-8)
    cuts = [-np.inf, -delta, delta, np.inf]
    z = sum(
        quad(lambda x: math.exp(-float(huber(np.array(x), delta))), lo, hi, epsrel=1e-11)[0]
        for lo, hi in itertools.pairwise(cuts)
    )
    assert huber_log_normaliser(delta) == pytest.approx(math.log(z), rel=1e-6)


def test_profile_sigma_is_the_exact_maximum():
    rng = np.random.default_rng(0)
    for delta, r in [(1e-3, rng.laplace(0, 0.01, 50)), (1.0, rng.normal(0, 0.2, 80))]:
        sigma, ll = profile_sigma(r, delta)
        res = minimize_scalar(
            lambda s, r=r, delta=delta: -np.sum(huber_logpdf(r, math.exp(s), delta)),
            bounds=(math.log(sigma) - 3, math.log(sigma) + 3),
            method="bounded",
            options={"xatol": 1e-12},
        )
        assert -res.fun <= ll + 1e-9
        assert math.log(sigma) == pytest.approx(res.x, abs=1e-5)
    # delta * sigma below every |r|: sigma = delta * mean|r| exactly (Laplace limit)
    r = rng.laplace(0, 0.01, 50)
    assert profile_sigma(r, 1e-3)[0] == pytest.approx(1e-3 * np.mean(np.abs(r)), rel=1e-10)


def test_profile_sigma_rejects_zero_residuals():
    with pytest.raises(UserError, match="unbounded"):
        profile_sigma(np.zeros(10))
    with pytest.raises(UserError, match="delta"):
        huber_log_normaliser(0.0)


# --------------------------------------------------------------------------- synthetic data


@pytest.fixture(scope="module")
def synthetic():
    """A 10 x 12 grid from TRUE with Laplace noise on log L, the error model of the test."""
    rng = np.random.default_rng(1)
    n, d = np.meshgrid(np.logspace(7.5, 9.7, 10), np.logspace(9, 11.3, 12))
    N, D = n.ravel(), d.ravel()
    L = np.asarray(TRUE.predict(N, D)) * np.exp(rng.laplace(0.0, 0.004, N.size))
    fit = fit_chinchilla(N, D, L, n_starts=150, bootstrap=100, seed=0)
    mle = huber_likelihood_fit(N, D, L, starts=[fit.law, TRUE])
    return N, D, L, fit, mle


def test_likelihood_fit_recovers_the_law(synthetic):
    N, D, L, fit, mle = synthetic
    assert isinstance(mle, HuberLikelihoodFit) and mle.n_points == 120
    assert mle.free == ("E", "A", "B", "alpha", "beta") and mle.n_params == 6
    assert abs(mle.E - TRUE.E) < 0.02
    assert abs(mle.alpha - TRUE.alpha) < 0.02
    assert abs(mle.beta - TRUE.beta) < 0.02
    # Laplace noise of scale b: sigma_hat ~ delta * b
    assert mle.sigma == pytest.approx(1e-3 * 0.004, rel=0.2)
    assert mle.aic == pytest.approx(2 * 6 - 2 * mle.log_likelihood)
    assert mle.bic == pytest.approx(6 * math.log(120) - 2 * mle.log_likelihood)
    # at least as likely as the truth and as the Huber-loss fit, each with its own sigma
    for law in (TRUE, fit.law):
        only_sigma = huber_likelihood_fit(N, D, L, fixed=law)
        assert only_sigma.free == () and only_sigma.n_params == 1
        assert mle.log_likelihood >= only_sigma.log_likelihood - 1e-9
    _json(mle)


def test_lrt_true_law_not_rejected_wrong_law_rejected(synthetic):
    N, D, L, _, mle = synthetic
    ok = likelihood_ratio_test(N, D, L, TRUE, mle)
    assert isinstance(ok, LikelihoodRatioResult)
    assert ok.dof == 5 and ok.freed == ("E", "A", "B", "alpha", "beta")
    assert ok.statistic == pytest.approx(
        2 * (mle.log_likelihood - ok.null.log_likelihood), rel=1e-12
    )
    assert ok.p_value == pytest.approx(chi2.sf(ok.statistic, 5), rel=1e-9)
    assert ok.p_value > 0.05 and not ok.rejected
    bad = likelihood_ratio_test(N, D, L, WRONG, mle)
    assert bad.p_value < 1e-3 and bad.rejected and bad.dof == 5
    assert bad.p_value == pytest.approx(chi2.sf(bad.statistic, 5), rel=1e-9)
    hoff = likelihood_ratio_test(N, D, L, HOFFMANN_2022, mle)
    assert hoff.p_value < 1e-30
    assert hoff.log10_p_value == pytest.approx(math.log10(hoff.p_value), abs=1e-6)
    _json(bad)


def test_lrt_nested_models_and_dof(synthetic):
    N, D, L, fit, mle = synthetic
    start = [fit.law, TRUE]
    e_true = huber_likelihood_fit(N, D, L, fixed={"E": TRUE.E}, starts=start)
    e_wrong = huber_likelihood_fit(N, D, L, fixed={"E": WRONG.E}, starts=start)
    assert e_true.free == ("A", "B", "alpha", "beta") and e_true.fixed == {"E": TRUE.E}
    assert e_true.E == TRUE.E
    r = likelihood_ratio_test(N, D, L, e_true, mle)
    assert r.dof == 1 and r.freed == ("E",) and r.p_value > 0.05
    assert r.p_value == pytest.approx(chi2.sf(r.statistic, 1), rel=1e-9)
    assert likelihood_ratio_test(N, D, L, e_wrong, mle).p_value < 1e-3
    # law fixed -> law with E fixed at the same value frees A, B, alpha, beta: dof 4
    r4 = likelihood_ratio_test(N, D, L, TRUE, e_true)
    assert r4.dof == 4 and r4.freed == ("A", "B", "alpha", "beta")
    assert r4.statistic == pytest.approx(
        2 * (e_true.log_likelihood - r4.null.log_likelihood), rel=1e-12
    )
    assert r4.p_value == pytest.approx(chi2.sf(r4.statistic, 4), rel=1e-9)
    # law_b None fits all five here
    r5 = likelihood_ratio_test(N, D, L, TRUE, None, n_starts=50)
    assert r5.dof == 5 and r5.alternative.log_likelihood == pytest.approx(
        mle.log_likelihood, abs=1e-3
    )


def test_lrt_rejects_non_nested_and_foreign_fits(synthetic):
    N, D, L, fit, _ = synthetic
    a = huber_likelihood_fit(N, D, L, fixed={"alpha": 0.35}, starts=[fit.law])
    b = huber_likelihood_fit(N, D, L, fixed={"E": 1.8}, starts=[fit.law])
    with pytest.raises(UserError, match="not nested"):
        likelihood_ratio_test(N, D, L, a, b)
    with pytest.raises(UserError, match="not nested"):  # A fixes E at another value than B
        likelihood_ratio_test(N, D, L, WRONG, b)
    # two fixed laws: the ratio, but no chi-square reference
    two = likelihood_ratio_test(N, D, L, WRONG, TRUE)
    assert two.dof == 0 and math.isnan(two.p_value) and "no chi-square" in two.note
    assert two.statistic > 0
    _json(two)
    other = huber_likelihood_fit(N[:-1], D[:-1], L[:-1], starts=[fit.law])
    with pytest.raises(UserError, match="other data"):
        likelihood_ratio_test(N, D, L, TRUE, other)
    with pytest.raises(UserError, match="ChinchillaLaw"):
        likelihood_ratio_test(N, D, L, TRUE, "hoffmann")


def test_chi_square_true_law_consistent_wrong_law_rejected(synthetic):
    *_, fit, mle = synthetic
    ok = chi_square_against_bootstrap(fit, TRUE)
    assert isinstance(ok, ChiSquareResult)
    assert ok.dof == 5 and ok.rank == 5 and not ok.pseudo_inverse and ok.warning == ""
    assert ok.n_bootstrap == 100 and ok.n_used == 100 and ok.n_dropped == 0
    assert ok.coords == ("log E", "log A", "log B", "alpha", "beta")
    assert ok.p_value > 0.05 and not ok.rejected
    assert np.all(np.abs(ok.z) < 3)
    bad = chi_square_against_bootstrap(fit, WRONG)
    assert bad.p_value < 1e-3 and bad.rejected
    assert abs(bad.z[0]) > 3 and np.argmax(np.abs(bad.z)) == 0  # E is the wrong one
    # by hand: chi2 = d^T Sigma^-1 d in (log E, log A, log B, alpha, beta)
    s = fit.bootstrap_samples
    X = np.column_stack([np.log(s["E"]), np.log(s["A"]), np.log(s["B"]), s["alpha"], s["beta"]])
    c = [*np.log([fit.E, fit.A, fit.B]), fit.alpha, fit.beta]
    p = [*np.log([WRONG.E, WRONG.A, WRONG.B]), WRONG.alpha, WRONG.beta]
    d = np.subtract(p, c)
    assert bad.chi2 == pytest.approx(d @ np.linalg.solve(np.cov(X.T), d), rel=1e-8)
    # a subset of parameters, linear scale, centred on the likelihood fit
    sub = chi_square_against_bootstrap(fit, TRUE, ("alpha", "beta"), center=mle, log_scale=False)
    assert sub.dof == 2 and sub.coords == ("alpha", "beta") and sub.center.E == mle.E
    text = format_comparison([bad, ok])
    assert "chi2 =" in text and "rejected at 5%" in text and "not rejected" in text
    _json(bad)


def test_chi_square_singular_and_non_finite_bootstrap(synthetic):
    *_, fit, _ = synthetic
    s = {k: np.array(v, dtype=float) for k, v in fit.bootstrap_samples.items()}
    s["beta"] = 2.0 * s["alpha"]  # exactly dependent: rank 4 of 5
    s["A"][:3] = np.inf
    s["B"][3] = np.nan
    s["E"][4] = -1.0  # no log
    odd = dataclasses.replace(fit, bootstrap_samples=s)
    r = chi_square_against_bootstrap(odd, TRUE)
    assert r.n_bootstrap == 100 and r.n_dropped == 5 and r.n_used == 95
    assert r.pseudo_inverse and r.rank == 4 and r.dof == 4
    assert "singular" in r.warning and "never varied" in r.warning
    # by hand: the 95 finite resamples, chi2 = d^T Sigma^+ d with dof = rank 4
    with np.errstate(invalid="ignore"):  # log(-1)
        X = np.column_stack([np.log(s[k]) for k in ("E", "A", "B")] + [s["alpha"], s["beta"]])
    X = X[np.all(np.isfinite(X), axis=1)]
    assert len(X) == 95
    c = [*np.log([fit.E, fit.A, fit.B]), fit.alpha, fit.beta]
    d = np.subtract([*np.log([TRUE.E, TRUE.A, TRUE.B]), TRUE.alpha, TRUE.beta], c)
    cov = np.cov(X.T)
    assert np.linalg.matrix_rank(cov) == 4
    by_hand = float(d @ np.linalg.pinv(cov, rcond=1e-10, hermitian=True) @ d)
    assert r.chi2 == pytest.approx(by_hand, rel=1e-6)
    assert r.p_value == pytest.approx(chi2.sf(r.chi2, 4), rel=1e-9)
    _json(r)
    flat = {k: np.full(100, float(getattr(TRUE, k))) for k in s}
    with pytest.raises(UserError, match=r"covariance .* is zero"):
        chi_square_against_bootstrap(dataclasses.replace(fit, bootstrap_samples=flat), TRUE)
    few = {k: v[:5] for k, v in fit.bootstrap_samples.items()}
    with pytest.raises(UserError, match="need at least 6"):
        chi_square_against_bootstrap(dataclasses.replace(fit, bootstrap_samples=few), TRUE)
    with pytest.raises(UserError, match="no bootstrap samples"):
        chi_square_against_bootstrap(dataclasses.replace(fit, bootstrap_samples={}), TRUE)
    with pytest.raises(UserError, match="params"):
        chi_square_against_bootstrap(fit, TRUE, ("E", "gamma"))
    with pytest.raises(UserError, match="ChinchillaFit"):
        chi_square_against_bootstrap(TRUE, TRUE)


def test_bad_input_is_one_line_user_error(synthetic):
    N, D, L, *_ = synthetic
    for kwargs, match in [
        ({"delta": -1.0}, "delta"),
        ({"fixed": {"gamma": 1.0}}, "unknown parameters"),
        ({"fixed": {"A": -3.0}}, "A must be > 0"),
        ({"starts": []}, "starts"),
    ]:
        with pytest.raises(UserError, match=match) as err:
            huber_likelihood_fit(N, D, L, **kwargs)
        assert "\n" not in str(err.value)
    with pytest.raises(UserError, match="loss"):
        huber_likelihood_fit(N, D, -L)
    with pytest.raises(UserError, match="same length"):
        huber_likelihood_fit(N, D[:-1], L)
    with pytest.raises(UserError, match="format_comparison"):
        format_comparison(42)


def test_compare_published_and_format(synthetic):
    N, D, L, fit, _ = synthetic
    res = compare_published(N, D, L, WRONG, name="wrong law", fit=fit)
    assert res.lrt.p_value < 1e-3 and res.chi_square.p_value < 1e-3
    text = format_comparison(res)
    lines = text.splitlines()
    assert lines[0].startswith("wrong law (E=1.75") and len(lines) <= 10
    assert "likelihood ratio" in text and "dof 5" in text and "[95%" in text
    assert "100 of 100 resamples used, 0 dropped" in text
    _json(res)


# --------------------------------------------------------------------------- Epoch anchor


@pytest.fixture(scope="module")
def epoch_points():
    path = ANCHORS / "epoch_chinchilla_svg_extracted_data.csv"
    if not path.exists():
        pytest.skip(f"anchor file {path} is absent")
    df = pd.read_csv(path)
    loss = df["loss"].to_numpy()
    keep = loss < np.sort(loss)[-5]  # Besiroglu et al. drop the 5 highest losses
    N = df["Model Size"].to_numpy()[keep]
    C = df["Training FLOP"].to_numpy()[keep]
    return N, C / (6 * N), loss[keep]


@pytest.fixture(scope="module")
def epoch_mle(epoch_points):
    return huber_likelihood_fit(*epoch_points, n_starts=150)


def test_epoch_likelihood_fit_matches_notebook(epoch_points, epoch_mle):
    m = epoch_mle
    assert m.n_points == 240
    assert m.log_likelihood >= 879.77  # Epoch: 879.7731 (cell Pyi4B06nLKpT)
    assert m.log_likelihood == pytest.approx(879.7731, abs=1e-3)
    assert math.log(m.sigma) == pytest.approx(-12.2666, abs=1e-3)
    theta = [math.log(m.A), math.log(m.B), math.log(m.E), m.alpha, m.beta]
    epoch = [6.17795598, 7.64273236, 0.59711196, 0.34781303, 0.36585412]
    assert theta == pytest.approx(epoch, abs=1e-4)
    # Table 1 of Besiroglu et al. 2024 is this estimate
    assert abs(m.A / BESIROGLU_2024.A - 1) < 1e-3
    assert abs(m.B / BESIROGLU_2024.B - 1) < 1e-3


def test_epoch_likelihood_ratio_tests(epoch_points, epoch_mle):
    rounded = likelihood_ratio_test(*epoch_points, HOFFMANN_2022, epoch_mle)
    assert rounded.null.log_likelihood == pytest.approx(562.25, abs=0.01)  # Epoch: 562.25
    assert math.log(rounded.null.sigma) == pytest.approx(-10.9436, abs=1e-3)
    assert rounded.dof == 5 and rounded.p_value < 1e-100
    unrounded = likelihood_ratio_test(*epoch_points, HOFFMANN_2022_UNROUNDED, epoch_mle)
    assert unrounded.null.log_likelihood == pytest.approx(837.78, abs=0.01)  # Epoch: 837.78
    assert unrounded.statistic == pytest.approx(84.00, abs=0.01)  # Epoch: 84.00
    assert unrounded.p_value == pytest.approx(1.22e-16, rel=0.01)  # Epoch: 1.22e-16
    ours = likelihood_ratio_test(*epoch_points, BESIROGLU_2024, epoch_mle)
    assert ours.p_value > 0.5  # their own (rounded) Table 1 values: consistent


def test_epoch_chi_square_hoffmann_rejected_besiroglu_consistent(epoch_points, epoch_mle):
    fit = fit_chinchilla(*epoch_points, n_starts=150, bootstrap=200, seed=0)
    n = fit.bootstrap_samples["E"].size
    # Epoch: chi2 = 238.40, p = 1.69e-49 (unrounded estimates, 4,000 single-start resamples
    # centred on the likelihood fit); with 200 multi-start resamples we measure ~300-340.
    for published in (HOFFMANN_2022, HOFFMANN_2022_UNROUNDED):
        r = chi_square_against_bootstrap(fit, published, center=epoch_mle)
        assert r.dof == 5 and r.n_used + r.n_dropped == n and r.n_dropped <= 2
        assert 150 < r.chi2 < 600 and r.p_value < 1e-30, r.chi2
        assert {"E", "B", "beta"} <= {p for p, z in zip(r.params, r.z, strict=True) if abs(z) > 3}
    ours = chi_square_against_bootstrap(fit, BESIROGLU_2024, center=epoch_mle)
    assert ours.p_value > 0.5 and np.all(np.abs(ours.z) < 1)
    default_centre = chi_square_against_bootstrap(fit, HOFFMANN_2022)  # Huber-loss point
    assert default_centre.p_value < 1e-30
    text = format_comparison(
        compare_published(*epoch_points, HOFFMANN_2022, name="Hoffmann et al. 2022", fit=fit)
    )
    assert "-> rejected at 5%" in text and "240 points" in text
