"""Chinchilla approach 3: synthetic recovery, closed forms, bootstrap, hold-out, bad input."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from scaling.core.errors import UserError
from scaling.fit import ChinchillaLaw, fit_chinchilla
from scaling.fit.parametric import HOFFMANN_GRID, chinchilla_objective, grid_starts

LAWS = {
    "hoffmann": ChinchillaLaw(E=1.69, A=406.4, B=410.7, alpha=0.34, beta=0.28),
    "besiroglu": ChinchillaLaw(E=1.8172, A=482.01, B=2085.43, alpha=0.3478, beta=0.3658),
    "data_heavy": ChinchillaLaw(E=2.5, A=100.0, B=1000.0, alpha=0.25, beta=0.35),
    "param_heavy": ChinchillaLaw(E=0.8, A=2000.0, B=300.0, alpha=0.45, beta=0.30),
}


def isoflop_design(law: ChinchillaLaw) -> tuple[np.ndarray, np.ndarray]:
    """6 budgets x 9 sizes around each budget's optimum (the shape of an isoFLOP sweep)."""
    pts = []
    for c in np.geomspace(1e18, 1e21, 6):
        n0 = float(law.compute_optimal(c)[0])
        for f in np.geomspace(1 / 8, 8, 9):
            pts.append((n0 * f, c / (6 * n0 * f)))
    a = np.array(pts)
    return a[:, 0], a[:, 1]


def scatter_design(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """150 (N, D) points scattered log-uniformly."""
    rng = np.random.default_rng(seed)
    return 10 ** rng.uniform(7, 10, 150), 10 ** rng.uniform(8.5, 11.5, 150)


def synthetic(law: ChinchillaLaw, design: str, noise: float, seed: int = 0):
    N, D = isoflop_design(law) if design == "isoflop" else scatter_design(seed)
    rng = np.random.default_rng(seed + 1)
    L = np.asarray(law.predict(N, D)) * np.exp(noise * rng.standard_normal(len(N)))
    return N, D, L


def test_grid_is_hoffmann_app_d2():
    starts = grid_starts()
    assert starts.shape == (4500, 5)
    assert sorted(set(starts[:, 3])) == [0.0, 0.5, 1.0, 1.5, 2.0]
    assert sorted(set(starts[:, 2])) == [-1.0, -0.5, 0.0, 0.5, 1.0]
    assert sorted(set(starts[:, 0])) == list(HOFFMANN_GRID["a"])
    sub = grid_starts(n_starts=100, seed=3)
    assert sub.shape == (100, 5) and len({tuple(r) for r in sub}) == 100


def test_objective_gradient_matches_finite_differences():
    law = LAWS["besiroglu"]
    N, D, L = synthetic(law, "scatter", 0.02)
    w = np.linspace(0.5, 1.5, len(N))
    fg = chinchilla_objective(np.log(N), np.log(D), np.log(L), w, 1e-3)
    theta = np.array([[6.0, 7.5, 0.6, 0.33, 0.37], [5.0, 8.0, 0.4, 0.3, 0.4]])
    f, g = fg(theta, np.arange(2))
    eps = 1e-6
    for j in range(5):
        tp, tm = theta.copy(), theta.copy()
        tp[:, j] += eps
        tm[:, j] -= eps
        num = (fg(tp, np.arange(2))[0] - fg(tm, np.arange(2))[0]) / (2 * eps)
        np.testing.assert_allclose(g[:, j], num, rtol=1e-4, atol=1e-6)
    # single precision agrees to ~1e-5 relative (used only to rank starts)
    f32, _ = chinchilla_objective(np.log(N), np.log(D), np.log(L), w, 1e-3, np.float32)(
        theta, np.arange(2)
    )
    np.testing.assert_allclose(f32, f, rtol=1e-4)


@pytest.mark.parametrize("name", sorted(LAWS))
@pytest.mark.parametrize("design", ["isoflop", "scatter"])
def test_exact_recovery(name: str, design: str):
    law = LAWS[name]
    N, D, L = synthetic(law, design, noise=0.0)
    fit = fit_chinchilla(N, D, L, n_starts=150)
    for k, v in law.params().items():
        assert getattr(fit, k) == pytest.approx(v, rel=1e-3), k
    assert fit.r2 > 0.999999
    assert fit.objective < 1e-8
    assert np.max(np.abs(fit.residuals)) < 1e-5


@pytest.mark.parametrize("name", sorted(LAWS))
@pytest.mark.parametrize("design", ["isoflop", "scatter"])
def test_noisy_recovery(name: str, design: str):
    law = LAWS[name]
    N, D, L = synthetic(law, design, noise=0.01)
    fit = fit_chinchilla(N, D, L, n_starts=150)
    assert abs(fit.alpha - law.alpha) < 0.03
    assert abs(fit.beta - law.beta) < 0.03
    assert abs(fit.E / law.E - 1) < 0.03
    assert abs(math.log(fit.A / law.A)) < math.log(1.5)
    assert abs(math.log(fit.B / law.B)) < math.log(1.5)
    assert abs(fit.a - law.a) < 0.03
    assert fit.r2 > 0.9


def test_fit_beats_truth_on_its_own_objective():
    law = LAWS["hoffmann"]
    N, D, L = synthetic(law, "scatter", 0.02, seed=5)
    fit = fit_chinchilla(N, D, L, n_starts=300)
    truth_obj = float(
        np.sum(
            np.where(
                np.abs(r := np.log(np.asarray(law.predict(N, D))) - np.log(L)) <= 1e-3,
                0.5 * r**2,
                1e-3 * (np.abs(r) - 0.5e-3),
            )
        )
    )
    assert fit.objective <= truth_obj + 1e-12


def test_compute_optimal_closed_form_matches_numeric_minimum():
    law = LAWS["besiroglu"]
    C = 1e22
    n_opt, d_opt = law.compute_optimal(C)
    assert 6 * n_opt * d_opt == pytest.approx(C, rel=1e-12)
    grid = np.geomspace(n_opt / 10, n_opt * 10, 200001)
    losses = np.asarray(law.predict(grid, C / (6 * grid)))
    assert grid[np.argmin(losses)] == pytest.approx(n_opt, rel=1e-3)
    assert law.a + law.b == pytest.approx(1.0)
    assert law.a == pytest.approx(law.beta / (law.alpha + law.beta))
    G = (law.alpha * law.A / (law.beta * law.B)) ** (1 / (law.alpha + law.beta))
    assert abs(law.G / G - 1) < 1e-12
    ns, _ = law.compute_optimal(np.array([1e20, 1e21]))
    assert ns.shape == (2,) and ns[1] / ns[0] == pytest.approx(10**law.a)


def test_bootstrap_intervals_cover_truth_and_serialise():
    law = LAWS["hoffmann"]
    N, D, L = synthetic(law, "isoflop", 0.01, seed=2)
    fit = fit_chinchilla(N, D, L, n_starts=200, bootstrap=60, seed=1)
    assert set(fit.intervals) == {"E", "A", "B", "alpha", "beta", "a", "b"}
    assert len(fit.bootstrap_samples["alpha"]) == 60
    assert len(fit.bootstrap_laws()) == 60
    for k in ("alpha", "beta", "E", "a"):
        lo, hi = fit.intervals[k]
        assert lo < getattr(fit, k) < hi
        assert lo < getattr(law, k) < hi, k
    ci = fit.compute_optimal_interval(1e23)
    n_opt = fit.compute_optimal(1e23)[0]
    assert ci["N_opt"][0] < n_opt < ci["N_opt"][1]
    d = json.loads(json.dumps(fit.to_dict()))
    assert d["law"] == "chinchilla" and d["n_bootstrap"] == 60
    assert d["intervals"]["alpha"] == pytest.approx(list(fit.intervals["alpha"]))
    assert len(d["residuals_log"]) == len(N)


def test_no_bootstrap_means_no_intervals():
    N, D, L = synthetic(LAWS["hoffmann"], "scatter", 0.0)
    fit = fit_chinchilla(N, D, L, n_starts=50)
    assert fit.intervals == {} and fit.bootstrap_laws() == []
    assert fit.n_starts == 50


def test_weights_zero_ignores_outliers():
    law = LAWS["hoffmann"]
    N, D, L = synthetic(law, "scatter", 0.0)
    L = L.copy()
    L[:10] *= 1.5  # corrupted rows
    w = np.ones(len(L))
    w[:10] = 0.0
    fit = fit_chinchilla(N, D, L, n_starts=200, weights=w)
    assert fit.alpha == pytest.approx(law.alpha, rel=1e-3)
    assert fit.beta == pytest.approx(law.beta, rel=1e-3)


def test_holdout_largest_model():
    law = LAWS["besiroglu"]
    N, D, L = synthetic(law, "isoflop", 0.005, seed=4)
    fit = fit_chinchilla(N, D, L, n_starts=200, holdout="largest")
    h = fit.holdout
    assert h is not None and h.law == "chinchilla"
    largest = N.max()
    assert h.n_test == int(np.sum(largest == N)) and h.n_train + h.n_test == len(N)
    assert h.mean_abs_loss_rel_error < 0.02
    # the errors are the train fit's (which never saw the largest model) on the held-out runs
    test = largest == N
    assert h.train_fit.n_points == h.n_train
    pred = np.asarray(h.train_fit.predict(N[test], D[test]))
    expected = np.abs((pred - L[test]) / L[test])
    assert np.abs(h.loss_rel_errors) == pytest.approx(expected, rel=1e-12)
    assert h.max_abs_loss_rel_error == pytest.approx(expected.max(), rel=1e-12)
    assert h.mean_abs_loss_rel_error == pytest.approx(expected.mean(), rel=1e-12)
    d = fit.to_dict()
    assert d["holdout"]["n_test"] == h.n_test and "train_fit" in d["holdout"]


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"params": [1e8, -1, 1e9, 1e9, 1e9]}, "params"),
        ({"loss": [3.0, 2.9, float("nan"), 2.7, 2.6]}, "loss"),
        ({"tokens": [1e9] * 4}, "same length"),
        ({"params": [1e8] * 3, "tokens": [1e9] * 3, "loss": [3.0] * 3}, "at least 5"),
    ],
)
def test_bad_input_raises_user_error(kwargs, needle):
    base = {
        "params": [1e8, 2e8, 4e8, 8e8, 1.6e9],
        "tokens": [1e9] * 5,
        "loss": [3, 2.9, 2.8, 2.7, 2.6],
    }
    base.update(kwargs)
    with pytest.raises(UserError, match=needle):
        fit_chinchilla(**base, n_starts=10)


def test_bad_options_raise_user_error():
    N, D, L = synthetic(LAWS["hoffmann"], "scatter", 0.0)
    with pytest.raises(UserError, match="holdout"):
        fit_chinchilla(N, D, L, holdout="smallest")
    with pytest.raises(UserError, match="huber_delta"):
        fit_chinchilla(N, D, L, huber_delta=0)
    with pytest.raises(UserError, match="ci"):
        fit_chinchilla(N, D, L, n_starts=10, ci=95)


def test_degenerate_optimum_gives_infinite_coefficients_not_an_overflow():
    """A fit whose log B runs past exp's range (seen on a flat held-out domain) returns B=inf
    for callers to report as unconstrained, instead of raising OverflowError."""
    import math

    import numpy as np

    from scaling.fit.parametric import _theta_to_law

    law = _theta_to_law(np.array([1.0, 800.0, 0.5, 0.3, 0.4]))
    assert law["B"] == math.inf and math.isclose(law["A"], math.e) and law["beta"] == 0.4
