"""Data-constrained law (Muennighoff et al. 2023): formulas, recovery, allocation, bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest

from scaling.core.errors import UserError
from scaling.fit import (
    MUENNIGHOFF_2023,
    MUENNIGHOFF_2023_BASE,
    ChinchillaLaw,
    DataConstrainedLaw,
    compute_optimal_constrained,
    effective_data,
    effective_params,
    fit_data_constrained,
    unique_params,
)
from scaling.fit.constrained import _theta_base, dc_objective

BASE = MUENNIGHOFF_2023_BASE
TRUE = DataConstrainedLaw(base=BASE, R_D_star=12.0, R_N_star=4.0)


def design(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Runs with 1 to 60 epochs and 0.3x to 30x the compute-optimal size for their data."""
    rng = np.random.default_rng(seed)
    U = 10 ** rng.uniform(8, 10.5, 120)
    epochs = 10 ** rng.uniform(0, np.log10(60), 120)
    size = np.asarray(unique_params(U, BASE)) * 10 ** rng.uniform(-0.5, 1.5, 120)
    return size, U * epochs, U


def test_effective_data_limits():
    U = 1e9
    assert effective_data(0.5e9, U, 15.0) == pytest.approx(0.5e9)  # no repetition: D' = D
    assert effective_data(U, U, 15.0) == pytest.approx(U)
    small = effective_data(1.01e9, U, 15.0)
    assert small == pytest.approx(1.01e9, rel=1e-3)  # first repetitions are almost as good
    big = effective_data(U * 1e4, U, 15.0)
    assert big == pytest.approx(U * 16.0, rel=1e-6)  # at most U (1 + R_D*)
    d = np.asarray(effective_data(U * np.linspace(1, 100, 50), U, 15.0))
    assert np.all(np.diff(d) > 0)


def test_effective_params_and_unique_params():
    U = 2e10
    nu = unique_params(U, BASE)
    c = 6 * (BASE.G * U) ** (1 / BASE.b)  # the compute at which D_opt = U
    n_opt, d_opt = BASE.compute_optimal(c)
    assert n_opt == pytest.approx(nu, rel=1e-9) and d_opt == pytest.approx(U, rel=1e-9)
    assert effective_params(nu / 2, U, 5.0, BASE) == pytest.approx(nu / 2)  # no excess
    big = effective_params(nu * 1e4, U, 5.0, BASE)
    assert big == pytest.approx(nu * 6.0, rel=1e-6)  # at most U_N (1 + R_N*)
    # the law reduces to the base law without repetition or excess parameters
    assert TRUE.predict(nu / 3, U / 2, U) == pytest.approx(BASE.predict(nu / 3, U / 2))


def test_gradient_matches_finite_differences():
    N, D, U = design()
    L = np.asarray(TRUE.predict(N, D, U)) * np.exp(
        0.01 * np.random.default_rng(3).normal(size=N.size)
    )
    UD = np.minimum(U, D)
    fg = dc_objective(np.log(N), np.log(UD), D / UD - 1, np.log(L), np.ones(N.size), 1e-3)
    theta = np.r_[
        _theta_base(ChinchillaLaw(1.9, 400.0, 1800.0, 0.33, 0.37)), np.log(9.0), np.log(3.0)
    ]
    _, g = fg(theta[None], np.array([0]))
    for j in range(7):
        e = 1e-6
        tp, tm = theta.copy(), theta.copy()
        tp[j] += e
        tm[j] -= e
        num = (fg(tp[None], np.array([0]))[0] - fg(tm[None], np.array([0]))[0]) / (2 * e)
        assert g[0, j] == pytest.approx(num[0], rel=1e-4, abs=1e-6), j


def test_recovers_r_stars_with_fixed_base():
    N, D, U = design()
    L = np.asarray(TRUE.predict(N, D, U))
    fit = fit_data_constrained(N, D, U, L, base=BASE)
    assert fit.R_D_star == pytest.approx(12.0, rel=1e-3)
    assert fit.R_N_star == pytest.approx(4.0, rel=1e-3)
    assert fit.r2 > 0.99999 and fit.objective < 1e-8
    assert fit.r2_plain < fit.r2
    d = json.loads(json.dumps(fit.to_dict()))
    assert d["law"] == "data_constrained" and d["R_D_star"] == pytest.approx(12.0, rel=1e-3)
    assert set(fit.summary()) == {"R_D_star", "R_N_star"}


def test_recovers_everything_jointly():
    law = DataConstrainedLaw(
        base=ChinchillaLaw(E=1.9, A=400.0, B=1800.0, alpha=0.33, beta=0.37),
        R_D_star=12.0,
        R_N_star=4.0,
    )
    N, D, U = design(1)
    L = np.asarray(law.predict(N, D, U))
    fit = fit_data_constrained(N, D, U, L, n_starts=40)
    assert fit.fitted_base
    assert fit.R_D_star == pytest.approx(12.0, rel=0.02)
    assert fit.R_N_star == pytest.approx(4.0, rel=0.02)
    assert fit.base.alpha == pytest.approx(0.33, abs=0.005)
    assert fit.base.beta == pytest.approx(0.37, abs=0.005)
    assert abs(fit.base.E / 1.9 - 1) < 0.01


def test_bootstrap_and_holdout():
    N, D, U = design(2)
    rng = np.random.default_rng(4)
    L = np.asarray(TRUE.predict(N, D, U)) * np.exp(0.005 * rng.normal(size=N.size))
    fit = fit_data_constrained(N, D, U, L, base=BASE, bootstrap=50, seed=1, holdout="largest")
    lo, hi = fit.intervals["R_D_star"]
    assert lo < 12.0 < hi
    lo, hi = fit.intervals["R_N_star"]
    assert lo < 4.0 < hi
    assert len(fit.bootstrap_samples["R_D_star"]) == 50
    h = fit.holdout
    assert h is not None and h.n_test == 1 and h.mean_abs_loss_rel_error < 0.02


def test_compute_optimal_constrained():
    C = 1e21
    # unlimited unique data: the Chinchilla optimum
    n_free, d_free = compute_optimal_constrained(C, 1e15, MUENNIGHOFF_2023)
    n_opt, d_opt = BASE.compute_optimal(C)
    assert n_free == pytest.approx(n_opt, rel=1e-4) and d_free == pytest.approx(d_opt, rel=1e-4)
    # scarce data: brute force over the 6 N D = C line agrees, and the model gets smaller
    U = d_opt / 20
    n_c, d_c = compute_optimal_constrained(C, U, MUENNIGHOFF_2023)
    grid = np.geomspace(n_opt / 100, n_opt * 100, 400001)
    brute = grid[np.argmin(MUENNIGHOFF_2023.predict(grid, C / (6 * grid), U))]
    assert n_c == pytest.approx(brute, rel=1e-3)
    assert 6 * n_c * d_c == pytest.approx(C)
    ns, _ = compute_optimal_constrained(np.array([1e20, 1e21]), U, MUENNIGHOFF_2023)
    assert ns.shape == (2,) and ns[1] > ns[0]


def test_constrained_errors():
    N, D, U = design()
    L = np.asarray(TRUE.predict(N, D, U))
    with pytest.raises(UserError, match="unique_tokens"):
        fit_data_constrained(N, D, -U, L, base=BASE)
    with pytest.raises(UserError, match="at least 2"):
        fit_data_constrained(N[:1], D[:1], U[:1], L[:1], base=BASE)
    with pytest.raises(UserError, match="at least 7"):
        fit_data_constrained(N[:5], D[:5], U[:5], L[:5])
    with pytest.raises(UserError, match="r_star_starts"):
        fit_data_constrained(N, D, U, L, base=BASE, r_star_starts=[(1.0, -2.0)])


# --------------------------------------------------------------------------- base modes, intervals


def noisy(seed: int, law: DataConstrainedLaw = TRUE, sd: float = 0.005) -> tuple[np.ndarray, ...]:
    N, D, U = design(seed)
    L = np.asarray(law.predict(N, D, U)) * np.exp(
        sd * np.random.default_rng(seed + 100).normal(size=N.size)
    )
    return N, D, U, L


def test_recovers_with_tied_base():
    law = DataConstrainedLaw(
        base=ChinchillaLaw(E=1.9, A=400.0, B=1800.0, alpha=0.35, beta=0.35),
        R_D_star=12.0,
        R_N_star=4.0,
    )
    N, D, U = design(1)
    L = np.asarray(law.predict(N, D, U))
    fit = fit_data_constrained(N, D, U, L, base="tied", n_starts=40)
    assert fit.base_mode == "tied" and fit.fitted_base
    assert fit.base.alpha == fit.base.beta == pytest.approx(0.35, abs=0.002)
    assert fit.R_D_star == pytest.approx(12.0, rel=0.02)
    assert fit.R_N_star == pytest.approx(4.0, rel=0.02)
    assert fit.converged and all(fit.identified.values())
    assert fit.to_dict()["base_mode"] == "tied"
    with pytest.raises(UserError, match="at least 6"):
        fit_data_constrained(N[:5], D[:5], U[:5], L[:5], base="tied")


def test_fixed_base_profile_intervals_cover_the_truth():
    N, D, U, L = noisy(2)
    fit = fit_data_constrained(N, D, U, L, base=BASE)
    assert fit.base_mode == "fixed" and fit.converged
    assert fit.profile_threshold > 0
    for k, true in (("R_D_star", 12.0), ("R_N_star", 4.0)):
        lo, hi = fit.profile_intervals[k]
        assert 0 < lo < true < hi < np.inf, k
        assert lo < fit.params()[k] < hi
        value, iv = fit.summary()[k]
        assert iv == (lo, hi) and value == fit.params()[k]
        grid, rise = fit.profiles[k]
        assert (
            grid.min() == pytest.approx(0.01)
            and rise.min() == pytest.approx(0.0, abs=1e-9)
            and rise.max() > fit.profile_threshold
        )
    assert fit.identified == {"R_D_star": True, "R_N_star": True}
    assert fit.notes == []
    d = json.loads(json.dumps(fit.to_dict()))
    assert d["interval_method"] == {"R_D_star": "profile", "R_N_star": "profile"}
    assert d["identified"]["R_D_star"] is True and d["converged"] is True
    # an exact fit has no spread: the threshold is 0 and the intervals shrink to the estimate
    exact = fit_data_constrained(N, D, U, np.asarray(TRUE.predict(N, D, U)), base=BASE)
    lo, hi = exact.profile_intervals["R_D_star"]
    assert exact.profile_threshold < 1e-20 and lo == pytest.approx(12.0, rel=1e-3)
    assert hi == pytest.approx(12.0, rel=1e-3)


def test_profile_threshold_rules():
    from scipy.stats import chi2

    from scaling.fit.constrained import profile_threshold

    # quadratic regime (all |r| <= delta): chi2/2 * E[r^2] / 1, the Gaussian likelihood ratio
    r = np.random.default_rng(0).normal(scale=1e-5, size=20000)
    thr = profile_threshold(r, 1.0, 0.95)
    assert thr == pytest.approx(chi2.ppf(0.95, 1) / 2 * np.mean(r**2), rel=1e-3)
    # L1 regime (delta << |r|): chi2/2 * delta^2 / (2 delta f(0)), f(0) = 1 / (sigma sqrt(2 pi))
    r = np.random.default_rng(1).normal(scale=0.05, size=20000)
    thr = profile_threshold(r, 1e-4, 0.95)
    expected = chi2.ppf(0.95, 1) / 2 * 1e-4 * 0.05 * np.sqrt(2 * np.pi) / 2
    assert thr == pytest.approx(expected, rel=0.05)
    assert profile_threshold(np.zeros(10), 1e-3, 0.95) == 0.0


def test_no_repetition_leaves_r_d_star_unidentified():
    N, D, U = design(3)
    D = np.minimum(D, U)  # one epoch at most: R_D = 0 everywhere
    L = np.asarray(TRUE.predict(N, D, U)) * np.exp(
        0.005 * np.random.default_rng(5).normal(size=N.size)
    )
    fit = fit_data_constrained(N, D, U, L, base=BASE, bootstrap=20)
    assert fit.max_repetitions["R_D"] == 0
    assert fit.identified["R_D_star"] is False and fit.identified["R_N_star"] is True
    assert any("R_D_star not identified" in n and "no effect" in n for n in fit.notes)
    value, iv = fit.summary()["R_D_star"]
    assert np.isnan(value) and iv == (0.0, np.inf)
    assert fit.n_bootstrap_failed == 0
    assert "not identified" in json.dumps(fit.to_dict()["notes"])
    from scaling.analysis.tables import format_table

    row = next(line for line in format_table({"all": fit}).splitlines() if "R_D_star" in line)
    assert "12." not in row  # no bare number for a parameter the data cannot see


def test_repetition_that_never_decays_is_not_identified():
    law = DataConstrainedLaw(base=BASE, R_D_star=1e6, R_N_star=4.0)  # >> 60 epochs
    N, D, U, L = noisy(4, law)
    fit = fit_data_constrained(N, D, U, L, base=BASE)
    assert fit.identified["R_D_star"] is False
    assert fit.profile_intervals["R_D_star"][1] == np.inf  # flat to the grid's end
    assert fit.r_star_range["R_D_star"][1] == pytest.approx(10 * fit.max_repetitions["R_D"])
    assert any("flat to the grid's end" in n for n in fit.notes)
    assert fit.identified["R_N_star"] is True


def test_bootstrap_counts_and_fixed_mode_json():
    N, D, U, L = noisy(6)
    fit = fit_data_constrained(N, D, U, L, base=BASE, bootstrap=30, seed=2)
    assert fit.n_bootstrap_failed == 0
    assert np.isfinite(fit.bootstrap_samples["R_N_star"]).all()
    d = fit.to_dict()
    assert d["n_bootstrap"] == 30 and d["n_bootstrap_failed"] == 0
    lo, hi = fit.intervals["R_N_star"]
    assert lo < 4.0 < hi


# --------------------------------------------------------------------------- law files


def test_load_law_presets_and_round_trip(tmp_path):
    from scaling.fit import BESIROGLU_2024, HOFFMANN_2022, fit_chinchilla, load_law

    assert load_law("muennighoff2023") == BASE
    assert load_law("Hoffmann-2022") == HOFFMANN_2022
    assert load_law("besiroglu2024") == BESIROGLU_2024
    law = ChinchillaLaw(E=1.9, A=400.0, B=1800.0, alpha=0.33, beta=0.37)
    rng = np.random.default_rng(0)
    n = 10 ** rng.uniform(7, 10, 60)
    d = 10 ** rng.uniform(9, 12, 60)
    cfit = fit_chinchilla(n, d, np.asarray(law.predict(n, d)), n_starts=50)
    plain = tmp_path / "law.json"
    plain.write_text(json.dumps(law.params()))
    assert load_law(plain) == law
    full = tmp_path / "fit.json"  # ChinchillaFit.to_dict(): extra keys ignored
    full.write_text(json.dumps(cfit.to_dict()))
    assert load_law(full) == cfit.law
    wrapped = tmp_path / "cli.json"  # scaling fit --json: {law: {group: {...}}}
    wrapped.write_text(json.dumps({"chinchilla": {"all": cfit.to_dict()}}))
    assert load_law(wrapped) == cfit.law
    groups = tmp_path / "groups.json"
    groups.write_text(json.dumps({"a": law.params(), "b": BASE.params()}))
    assert load_law(groups, group="b") == BASE
    # a fit with base=file equals the fit with the law itself
    N, D, U, L = noisy(7)
    base_file = tmp_path / "base.json"
    base_file.write_text(json.dumps(BASE.params()))
    by_file = fit_data_constrained(N, D, U, L, base=str(base_file), profile=False)
    by_law = fit_data_constrained(N, D, U, L, base=BASE, profile=False)
    assert by_file.R_D_star == by_law.R_D_star and by_file.base_source == str(base_file)
    assert fit_data_constrained(N, D, U, L, base="muennighoff2023").R_N_star == pytest.approx(
        by_law.R_N_star
    )


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ('{"E": 1.9, "A": 400, "B": 1800, "alpha": 0.33}', "missing key 'beta'"),
        ('{"E": 1.9, "A": 400, "B": "x", "alpha": 0.33, "beta": 0.3}', "key 'B'"),
        ('{"E": 1.9, "A": 400, "B": 1800, "alpha": null, "beta": 0.3}', "key 'alpha'"),
        ('{"E": 1.9, "A": -4, "B": 1800, "alpha": 0.3, "beta": 0.3}', "key 'A'"),
        ("{not json", "not valid JSON"),
        ("[1, 2]", "expected a JSON object"),
        ('{"g1": {"E": 1}, "g2": {"E": 2}}', "2 entries"),
        ('{"note": "no law here"}', "missing key 'E'"),
    ],
)
def test_load_law_bad_files(tmp_path, content, match):
    from scaling.fit import load_law

    p = tmp_path / "bad.json"
    p.write_text(content)
    with pytest.raises(UserError, match=match) as exc:
        load_law(p)
    assert str(p) in str(exc.value) and "\n" not in str(exc.value)


def test_bad_base_arguments(tmp_path):
    N, D, U, L = noisy(0)
    with pytest.raises(UserError, match="no such file"):
        fit_data_constrained(N, D, U, L, base=str(tmp_path / "missing.json"))
    with pytest.raises(UserError, match="base"):
        fit_data_constrained(N, D, U, L, base=3)  # type: ignore[arg-type]
    with pytest.raises(UserError, match="alpha must be finite and > 0"):
        fit_data_constrained(N, D, U, L, base=ChinchillaLaw(1.9, 400.0, 1800.0, 0.0, 0.3))
