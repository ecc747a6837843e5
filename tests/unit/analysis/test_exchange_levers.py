"""Exchange rates, levers, the FLOP-convention-aware allocation and the cost model, on
synthetic sweeps with known answers."""

import itertools
import math

import numpy as np
import pandas as pd
import pytest

from scaling.analysis.estimate import Estimate, Undetermined
from scaling.analysis.exchange import loss_rate, task_rate, wilson
from scaling.analysis.levers import best_loss, doubling_gains, levers
from scaling.core.costs import CostModel, load_costs
from scaling.core.errors import UserError
from scaling.fit import ChinchillaLaw
from scaling.fit.allocation import FlopModel, compute_at_tokens, compute_optimal, compute_to_match
from scaling.fit.constrained import effective_data

LAW = ChinchillaLaw(E=1.8, A=400.0, B=1500.0, alpha=0.34, beta=0.28)
SIX = FlopModel.six_nd()


def _sweep(law, data_type, data_multiplier=1.0, noise=0.002, seed=0, budgets=(1e17, 1e18, 1e19)):
    """An isoFLOP grid (C = 6ND) whose losses follow ``law`` with tokens worth
    ``data_multiplier``, and an accuracy rising with compute."""
    rng = np.random.default_rng(seed)
    rows = []
    for c in budgets:
        for n in np.geomspace(1e7, 1e9, 5):
            d = c / (6 * n)
            loss = float(law.predict(n, d * data_multiplier)) * math.exp(rng.normal(0, noise))
            rows.append(
                {
                    "data_type": data_type,
                    "run_id": f"{data_type}-{c:.0e}-{n:.0e}",
                    "model": f"m{n:.0e}",
                    "budget_flops": c,
                    "flops": c,
                    "params": n,
                    "tokens": d,
                    "loss": loss,
                    "val_shared_loss": loss,
                    "flops_convention": "6N_total",
                }
            )
    return rows


# --------------------------------------------------------------------------- allocation


def test_allocation_under_6nd_matches_hoffmann_closed_form():
    for c in (1e18, 1e21, 1e24):
        a = compute_optimal(LAW, c, SIX)
        n, d = LAW.compute_optimal(c)
        assert a.n_opt == pytest.approx(n, rel=1e-4)
        assert a.d_opt == pytest.approx(d, rel=1e-4)
    s = compute_to_match(LAW, float(LAW.predict(*LAW.compute_optimal(1e21))), SIX)
    assert s.status == "ok" and s.value == pytest.approx(1e21, rel=1e-4)
    w = compute_at_tokens(LAW, LAW.compute_optimal(1e21)[1], SIX)
    assert w.value == pytest.approx(1e21, rel=1e-4)


def test_allocation_uses_the_recorded_convention():
    """With C = (6 + 12 L n_ctx d / N) N D (6N_attn-like), a closed form in 6ND puts N_opt at
    compute the runs never spent; the numeric optimum is the true argmin under the recorded C."""
    N = np.geomspace(1e4, 1e6, 6)
    k = 6.0 + 2e5 / N  # attention term relatively large at small N
    fm = FlopModel.from_runs(N, np.full(6, 1e7), k * N * 1e7, "6N_attn")
    c = 1e13
    a = compute_optimal(LAW, c, fm)
    grid = np.geomspace(1e4, 1e6, 20001)
    brute = grid[np.argmin(LAW.predict(grid, c / (fm.k(grid) * grid)))]
    assert a.n_opt == pytest.approx(brute, rel=1e-3)
    assert float(fm.flops(a.n_opt, a.d_opt)) == pytest.approx(c, rel=1e-9)
    n_closed, d_closed = LAW.compute_optimal(c)
    assert float(fm.flops(n_closed, d_closed)) > 1.1 * c  # 6ND would overspend the budget
    assert compute_to_match(LAW, 0.5, fm).status == "unreachable"  # below E
    assert compute_to_match(LAW, 1e6, fm).status == "below_window"


# --------------------------------------------------------------------------- exchange rates


@pytest.mark.parametrize("multiplier", [0.5, 3.0])
def test_loss_exchange_rate_recovers_a_known_token_multiplier(multiplier):
    """Treatment tokens that count as `multiplier` reference tokens give that rate back at
    every sampled budget, with an interval that contains it."""
    df = pd.DataFrame(_sweep(LAW, "web") + _sweep(LAW, "frontier", multiplier, seed=1))
    rate = loss_rate(df, "web", "frontier", "shared", bootstrap=30, n_starts=300)
    assert rate.undetermined is None and len(rate.points) == 3
    for p in rate.points:
        tok = p.tokens_per_token
        assert isinstance(tok, Estimate)
        assert tok.value == pytest.approx(multiplier, rel=0.1)
        assert tok.lo <= multiplier * 1.03 and tok.hi >= multiplier * 0.97
        m = p.compute_multiplier
        assert isinstance(m, Estimate)
        assert (m.value > 1.0) if multiplier > 1 else (m.value < 1.0)


def test_unreachable_loss_is_reported_not_printed_as_a_number():
    better = ChinchillaLaw(E=0.5, A=50.0, B=100.0, alpha=0.34, beta=0.28)
    df = pd.DataFrame(_sweep(LAW, "web") + _sweep(better, "frontier"))
    rate = loss_rate(df, "web", "frontier", "shared", bootstrap=30, n_starts=300)
    assert rate.points
    for p in rate.points:
        assert isinstance(p.compute_multiplier, Undetermined)
        assert "unreachable" in p.compute_multiplier.reason


class _LargerIsWorse:
    """Larger models slightly worse at fixed data (an untuned learning rate)."""

    def predict(self, n, d):
        return 2.0 + 1500.0 / d**0.28 + 0.01 * math.log(n / 1e7)


def test_rate_refused_when_a_law_fails_the_gates():
    """The reference law's alpha is not above zero, so no rate is computed from it."""
    df = pd.DataFrame(_sweep(_LargerIsWorse(), "web", seed=3) + _sweep(LAW, "frontier"))
    rate = loss_rate(df, "web", "frontier", "shared", bootstrap=30, n_starts=300)
    assert not rate.points
    assert "fails the validity gates" in rate.undetermined.reason


def test_wilson_interval():
    lo, hi = wilson(0.5, 100)
    assert lo == pytest.approx(0.4038, abs=1e-3) and hi == pytest.approx(0.5962, abs=1e-3)
    lo, hi = wilson(0.0, 50)
    assert lo == pytest.approx(0.0, abs=1e-12) and hi == pytest.approx(0.0713, abs=1e-3)


def _task_frame(ref_acc, trt_acc):
    df = pd.DataFrame(_sweep(LAW, "web") + _sweep(LAW, "frontier"))
    rank = np.log10(df.budget_flops / 1e17) / 2  # 0, 0.5, 1 over the budgets
    df["acc_arith"] = np.where(df.data_type == "web", ref_acc(rank), trt_acc(rank))
    df["task_n_arith"] = 400
    return df


def test_task_rate_when_reference_never_solves_the_task():
    df = _task_frame(lambda r: 0.0 * r, lambda r: 0.2 + 0.4 * r)
    rate = task_rate(df, "web", "frontier", "arith", bootstrap=50)
    assert len(rate.points) == 3
    for p in rate.points:
        assert isinstance(p.treatment, Estimate) and p.treatment.method == "wilson"
        assert isinstance(p.compute_multiplier, Undetermined)
        assert "below frontier's accuracy" in p.compute_multiplier.reason


def test_task_rate_interpolates_the_reference_compute():
    # web reaches frontier's 1e17 accuracy (0.3) at its own 1e18 budget: 10x the compute
    df = _task_frame(lambda r: 0.1 + 0.4 * r, lambda r: 0.3 + 0.4 * r)
    rate = task_rate(df, "web", "frontier", "arith", bootstrap=100)
    first = rate.points[0]
    assert isinstance(first.compute_multiplier, Estimate)
    assert first.compute_multiplier.value == pytest.approx(10.0, rel=1e-6)
    assert first.compute_multiplier.lo < 10.0 < first.compute_multiplier.hi


def test_task_rate_without_problem_counts_is_undetermined():
    df = _task_frame(lambda r: 0.1 + 0 * r, lambda r: 0.5 + 0 * r).drop(columns="task_n_arith")
    rate = task_rate(df, "web", "frontier", "arith")
    assert isinstance(rate.undetermined, Undetermined) and not rate.points
    assert rate.undetermined.reason == "the runs did not record how many arith problems were scored"
    assert rate.undetermined.fix == "re-run the sweep with this version"


# --------------------------------------------------------------------------- levers


def test_effective_data_repetition():
    assert effective_data(50, 100, 15.4) == 50
    assert effective_data(200, 100, 15.4) == pytest.approx(
        100 + 100 * 15.4 * (1 - math.exp(-1 / 15.4))
    )
    assert effective_data(1e9, 100, 15.4) == pytest.approx(100 * (1 + 15.4))  # the limit


def test_levers_use_the_fit_layers_effective_data_and_constant():
    from scaling.analysis import levers as lv
    from scaling.fit.constrained import MUENNIGHOFF_2023

    assert lv.effective_data is effective_data  # one implementation, the fit layer's
    assert lv.R_D_STAR == MUENNIGHOFF_2023.R_D_star == 15.387756  # one constant
    rep = lv._Repeated(LAW, 1e9, lv.R_D_STAR)
    assert rep.predict(1e8, 5e10) == LAW.predict(1e8, effective_data(5e10, 1e9, 15.387756))


def _replicates(law, k=40, seed=0):
    rng = np.random.default_rng(seed)
    return [
        ChinchillaLaw(
            law.E * (1 + rng.normal(0, 0.01)),
            law.A * (1 + rng.normal(0, 0.02)),
            law.B * (1 + rng.normal(0, 0.02)),
            law.alpha + rng.normal(0, 0.005),
            law.beta + rng.normal(0, 0.005),
        )
        for _ in range(k)
    ]


def test_levers_compute_binds_with_plenty_of_data_and_data_binds_at_the_wall():
    c = 1e21
    n_opt, d_opt = LAW.compute_optimal(c)
    assert best_loss(LAW, c, 1e18, SIX) == pytest.approx(float(LAW.predict(n_opt, d_opt)), 1e-6)
    usd_flop, usd_token = 1e-18, 1e-8
    reps = _replicates(LAW)
    rich = levers(LAW, c, 1e3 * d_opt, usd_flop, usd_token, SIX, bootstrap_laws=reps)
    assert rich.binds == "compute"
    assert isinstance(rich.compute_gain, Estimate) and rich.compute_gain.lo > 0
    poor = levers(LAW, c, d_opt / 200, usd_flop, usd_token, SIX, bootstrap_laws=reps)
    assert poor.binds == "data" and poor.ratio.lo > 1
    # the data lever's value rises as the pool shrinks
    gains = [doubling_gains(LAW, c, d_opt * k, SIX)[1] for k in (10, 1, 0.1, 0.01)]
    assert all(b >= a - 1e-9 for a, b in itertools.pairwise(gains))
    assert abs(gains[0]) < 1e-9 < gains[2] < gains[3]  # a pool 10x D_opt: doubling buys nothing
    # without bootstrap laws there is no interval, so no call
    bare = levers(LAW, c, d_opt / 200, usd_flop, usd_token, SIX)
    assert bare.binds == "undetermined" and isinstance(bare.ratio, Undetermined)


def test_cost_model_validation(tmp_path):
    assert CostModel().dollars_per_flop == pytest.approx(2.5 / 3600 / 3.5e14)
    assert CostModel(expert_dollars_per_hour=3600).dollars_per_token(2.0) == pytest.approx(2.0)
    bad = tmp_path / "c.json"
    bad.write_text('{"expert_dollars_per_hour": -1}')
    with pytest.raises(UserError, match=r"costs\.expert_dollars_per_hour=-1"):
        load_costs(bad)
    bad.write_text('{"gpu_price": 1}')
    with pytest.raises(UserError, match="unknown key"):
        load_costs(bad)
    with pytest.raises(UserError, match="no such file"):
        load_costs(tmp_path / "missing.json")
