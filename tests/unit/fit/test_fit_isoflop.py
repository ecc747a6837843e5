"""Approach 2 (isoFLOP parabolas) and power laws on synthetic data with known exponents.

The parabola tests pass method="quadratic" explicitly: the default method is chosen by
measurement (scaling/fit/isoflop.py) and may differ.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from scaling.core.errors import UserError
from scaling.fit import ChinchillaLaw, fit_isoflop, fit_power_law, group_budgets

A_TRUE = 0.46
BUDGETS = np.geomspace(1e17, 1e21, 5)


def n_star(c: float | np.ndarray) -> float | np.ndarray:
    return 0.05 * np.asarray(c) ** A_TRUE


def parabola_family(budgets=BUDGETS, sizes=7, spread=2.0, curvature=0.08, shift=0.0):
    """Loss exactly quadratic in log N around N*(C) = 0.05 C^0.46, minimum loss falling with C."""
    rows = []
    for c in budgets:
        x0 = np.log(n_star(c)) + shift
        for x in np.linspace(x0 - spread, x0 + spread, sizes):
            loss = 10.0 * c**-0.05 + curvature * (x - np.log(n_star(c))) ** 2
            rows.append((c, np.exp(x), loss))
    a = np.array(rows)
    return a[:, 0], a[:, 1], a[:, 2]


def test_exact_parabolas_recover_exponent():
    C, N, L = parabola_family()
    fit = fit_isoflop(C, N, L, method="quadratic")
    assert fit.a == pytest.approx(A_TRUE, abs=1e-9)
    assert fit.b == pytest.approx(1 - A_TRUE, abs=1e-9)
    assert fit.d_opt_source == "C/(6N)"
    assert len(fit.interior) == 5 and fit.excluded == {}
    for m in fit.minima:
        assert m.n_opt == pytest.approx(n_star(m.flops), rel=1e-9)
        assert m.d_opt == pytest.approx(m.flops / (6 * m.n_opt), rel=1e-12)
        assert m.tokens_per_param == pytest.approx(m.d_opt / m.n_opt)
    assert fit.tokens_per_param_law.exponent == pytest.approx(1 - 2 * A_TRUE, abs=1e-9)
    assert fit.n_opt_law.r2 == pytest.approx(1.0)
    assert fit.r2 == pytest.approx(1.0) and fit.objective < 1e-20
    n_pred, _ = fit.compute_optimal(1e23)
    assert n_pred == pytest.approx(n_star(1e23), rel=1e-6)


def test_tokens_column_is_interpolated():
    C, N, L = parabola_family()
    D = C / (6 * N)
    fit = fit_isoflop(
        C, N, L, tokens=D * 1.1, method="quadratic"
    )  # another FLOP convention: D = C / (6.6 N)
    assert fit.d_opt_source == "tokens"
    assert fit.b == pytest.approx(1 - A_TRUE, abs=1e-9)
    for m in fit.minima:
        assert m.d_opt == pytest.approx(1.1 * m.flops / (6 * m.n_opt), rel=1e-9)


def test_spline_method_recovers_exponent():
    C, N, L = parabola_family(sizes=9)
    fit = fit_isoflop(C, N, L, method="spline")
    assert fit.method == "spline"
    assert fit.a == pytest.approx(A_TRUE, abs=0.01)


def test_chinchilla_generated_isoflops():
    law = ChinchillaLaw(E=1.8172, A=482.01, B=2085.43, alpha=0.3478, beta=0.3658)
    rows = []
    for c in np.geomspace(1e18, 1e22, 6):
        n0 = float(law.compute_optimal(c)[0])
        for f in np.geomspace(1 / 4, 4, 9):
            rows.append((c, n0 * f, float(law.predict(n0 * f, c / (6 * n0 * f)))))
    C, N, L = np.array(rows).T
    fit = fit_isoflop(C, N, L, tokens=C / (6 * N))
    assert fit.a == pytest.approx(law.a, abs=0.01)
    assert fit.b == pytest.approx(law.b, abs=0.01)


def test_unusable_budgets_are_flagged_and_excluded():
    C, N, L = parabola_family()
    # budget 1e16 with only 2 runs; budget 1e22 sampled entirely below its optimum
    c_few = np.array([1e16, 1e16])
    n_few = n_star(1e16) * np.array([0.5, 2.0])
    l_few = np.array([3.0, 3.1])
    c_edge, n_edge, l_edge = parabola_family(budgets=[1e22], spread=1.0, shift=-3.0)
    fit = fit_isoflop(
        np.r_[C, c_few, c_edge],
        np.r_[N, n_few, n_edge],
        np.r_[L, l_few, l_edge],
        method="quadratic",
    )
    assert fit.a == pytest.approx(A_TRUE, abs=1e-9)  # unaffected by the flagged budgets
    flags = {round(np.log10(m.flops)): m for m in fit.minima}
    assert not flags[16].interior and "fewer than 3" in flags[16].reason
    assert not flags[22].interior and "outside" in flags[22].reason
    assert len(fit.excluded) == 2
    d = json.loads(json.dumps(fit.to_dict()))
    assert len(d["excluded"]) == 2 and len(d["minima"]) == 7
    # keeping the extrapolated vertex of the outside-range budget (exact parabolas: still exact)
    keep = fit_isoflop(
        np.r_[C, c_few, c_edge],
        np.r_[N, n_few, n_edge],
        np.r_[L, l_few, l_edge],
        exclude_outside=False,
        method="quadratic",
    )
    assert len(keep.used) == 6 and len(keep.interior) == 5
    assert keep.a == pytest.approx(A_TRUE, abs=1e-6)


def test_concave_budget_is_flagged():
    C, N, L = parabola_family()
    cc = np.full(5, 1e22)
    nn = n_star(1e22) * np.geomspace(0.25, 4, 5)
    ll = 2.0 - 0.05 * (np.log(nn) - np.log(n_star(1e22))) ** 2
    fit = fit_isoflop(np.r_[C, cc], np.r_[N, nn], np.r_[L, ll], method="quadratic")
    bad = [m for m in fit.minima if not m.interior]
    assert len(bad) == 1 and "not convex" in bad[0].reason


def test_grouping_by_tolerance_and_labels():
    flops = np.array([1e18, 1e18 * (1 + 1e-8), 1e18 * (1 - 1e-8), 2e18, 2e18 * (1 + 1e-9)])
    groups, values = group_budgets(flops)
    assert list(groups) == [0, 0, 0, 1, 1]
    assert values == pytest.approx([1e18, 2e18])
    labels = np.array(["big", "small", "big", "small", "big"])
    g2, _ = group_budgets(np.array([4e18, 1e18, 4.2e18, 1.1e18, 3.9e18]), labels)
    assert list(g2) == [1, 0, 1, 0, 1]  # sorted by budget size
    _, v3 = group_budgets(flops, budget=np.array([1e18, 1e18, 1e18, 2e18, 2e18]))
    assert v3 == pytest.approx([1e18, 2e18])
    # runs whose actual FLOPs wobble around a nominal budget
    C, N, L = parabola_family()
    wobble = C * np.exp(np.random.default_rng(0).normal(0, 0.01, len(C)))
    fit = fit_isoflop(wobble, N, L, budget=C, method="quadratic")
    assert fit.a == pytest.approx(A_TRUE, abs=1e-9)


def test_bootstrap_interval_contains_truth():
    C, N, L = parabola_family(sizes=9)
    rng = np.random.default_rng(1)
    Ln = L + rng.normal(0, 0.003, len(L))
    fit = fit_isoflop(C, N, Ln, bootstrap=200, seed=2, method="quadratic")
    lo, hi = fit.n_opt_law.interval
    assert fit.n_opt_law.interval_method == "bootstrap"
    assert lo < A_TRUE < hi and lo < fit.a < hi
    assert hi - lo < 0.1
    plain = fit_isoflop(C, N, Ln, method="quadratic")
    assert plain.n_opt_law.interval_method == "t"
    assert plain.n_opt_law.interval[0] < plain.a < plain.n_opt_law.interval[1]


def test_holdout_largest_budget():
    C, N, L = parabola_family()
    fit = fit_isoflop(C, N, L, holdout="largest", method="quadratic")
    h = fit.holdout
    assert h is not None and h.law == "isoflop"
    assert h.n_test == 7 and h.n_train == len(C) - 7
    assert abs(h.n_opt_rel_error) < 1e-6
    assert abs(h.loss_rel_errors[0]) < 0.05
    assert "holdout" in fit.to_dict()


def test_power_law_weighted_and_interval():
    x = np.geomspace(1e17, 1e21, 8)
    y = 3.0 * x**0.5 * np.exp(np.random.default_rng(0).normal(0, 0.02, 8))
    pl = fit_power_law(x, y)
    assert pl.exponent == pytest.approx(0.5, abs=0.02)
    assert pl.interval[0] < 0.5 < pl.interval[1]
    assert pl.predict(1e20) == pytest.approx(pl.coef * 1e20**pl.exponent)
    assert pl.inverse(pl.predict(1e19)) == pytest.approx(1e19)
    # a point with a huge sigma barely moves the weighted line
    y2 = y.copy()
    y2[-1] *= 5
    sig = np.full(8, 0.02)
    sig[-1] = 100.0
    assert fit_power_law(x, y2, sigma=sig).exponent == pytest.approx(pl.exponent, abs=1e-3)


def test_isoflop_errors():
    C, N, L = parabola_family(budgets=[1e18])
    with pytest.raises(UserError, match="at least 2 FLOP budgets"):
        fit_isoflop(C, N, L)
    C, N, L = parabola_family()
    with pytest.raises(UserError, match="method"):
        fit_isoflop(C, N, L, method="cubic")
    with pytest.raises(UserError, match="flops"):
        fit_isoflop(-C, N, L)
    with pytest.raises(UserError, match="budget"):
        fit_isoflop(C, N, L, budget=[1, 2])
