"""Data-constrained law (Muennighoff et al. 2023): formulas, recovery, allocation, bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest

from scaling.errors import UserError
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
