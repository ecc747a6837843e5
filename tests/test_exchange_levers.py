"""Exchange rates, levers and the cost model on synthetic sweeps with known answers."""

import math

import numpy as np
import pandas as pd
import pytest

from scaling.costs import CostModel, load_costs
from scaling.errors import UserError
from scaling.exchange import compute_to_match, loss_rate, task_rate, tokens_to_match
from scaling.fit import ChinchillaLaw
from scaling.levers import best_loss, effective_tokens, levers

LAW = ChinchillaLaw(E=1.8, A=400.0, B=1500.0, alpha=0.34, beta=0.28)


def _sweep(law, data_type, data_multiplier=1.0, noise=0.0, seed=0):
    """An isoFLOP grid whose losses follow ``law`` with tokens worth ``data_multiplier``."""
    rng = np.random.default_rng(seed)
    rows = []
    for c in (1e17, 1e18, 1e19):
        for n in (1e7, 3e7, 1e8, 3e8):
            d = c / (6 * n)
            loss = float(law.predict(n, d * data_multiplier)) * math.exp(rng.normal(0, noise))
            rows.append(
                {
                    "data_type": data_type,
                    "run_id": f"{data_type}-{c:.0e}-{n:.0e}",
                    "budget_flops": c,
                    "flops": c,
                    "params": n,
                    "tokens": d,
                    "val_shared_loss": loss,
                }
            )
    return rows


def test_tokens_and_compute_to_match_invert_the_law():
    n, d = 1e8, 3e9
    loss = float(LAW.predict(n, d))
    assert tokens_to_match(LAW, n, loss) == pytest.approx(d, rel=1e-6)
    assert math.isinf(tokens_to_match(LAW, n, LAW.E + 1e-9))
    c = compute_to_match(LAW, loss)
    n_opt, d_opt = LAW.compute_optimal(c)
    assert float(LAW.predict(n_opt, d_opt)) == pytest.approx(loss, rel=1e-6)


@pytest.mark.parametrize("multiplier", [0.5, 2.0, 5.0])
def test_loss_exchange_rate_recovers_a_known_token_multiplier(multiplier):
    """Treatment tokens that count as `multiplier` reference tokens give that rate back."""
    df = pd.DataFrame(_sweep(LAW, "web") + _sweep(LAW, "frontier", multiplier))
    rate = loss_rate(df, "web", "frontier", "shared", bootstrap=20)
    assert rate.tokens_per_token == pytest.approx(multiplier, rel=0.02)
    assert rate.compute_multiplier > 1.0 if multiplier > 1 else rate.compute_multiplier < 1.0


def test_unreachable_loss_is_infinite_with_a_reason():
    better = ChinchillaLaw(E=0.5, A=50.0, B=100.0, alpha=0.34, beta=0.28)
    df = pd.DataFrame(_sweep(LAW, "web") + _sweep(better, "frontier"))
    rate = loss_rate(df, "web", "frontier", "shared", bootstrap=0)
    assert math.isinf(rate.tokens_per_token)
    assert "below anything web data reaches" in rate.note


def test_task_rate_when_reference_never_solves_the_task():
    rows = _sweep(LAW, "web") + _sweep(LAW, "frontier")
    df = pd.DataFrame(rows)
    df["acc_arith"] = np.where(df.data_type == "web", 0.0, np.linspace(0, 0.6, len(df)))
    rate = task_rate(df, "web", "frontier", "arith")
    assert math.isinf(rate.compute_multiplier)
    assert "not reachable with web data" in rate.note


def test_effective_tokens_repetition():
    assert effective_tokens(50, 100, 15.4) == 50
    assert effective_tokens(200, 100, 15.4) == pytest.approx(
        100 + 100 * 15.4 * (1 - math.exp(-1 / 15.4))
    )
    assert effective_tokens(1e9, 100, 15.4) == pytest.approx(100 * (1 + 15.4))  # the limit
    assert effective_tokens(1000, 100, 15.4) < 1000


def test_levers_compute_binds_with_plenty_of_data_and_data_binds_at_the_wall():
    c = 1e21
    n_opt, d_opt = LAW.compute_optimal(c)
    loss, n_star = best_loss(LAW, c, unique=1e15, r_d_star=15.4)
    assert loss == pytest.approx(float(LAW.predict(n_opt, d_opt)), rel=1e-4)
    assert n_star == pytest.approx(n_opt, rel=0.01)
    usd_flop, usd_token = 1e-18, 1e-8  # 1% more compute: $10; 1% more of the small pool: $0.4
    rich = levers(
        LAW, c, unique_tokens=1e3 * d_opt, dollars_per_flop=usd_flop, dollars_per_token=usd_token
    )
    assert rich.binds == "compute" and rich.data_gain_per_million < 1e-6
    poor = levers(
        LAW, c, unique_tokens=d_opt / 200, dollars_per_flop=usd_flop, dollars_per_token=usd_token
    )
    assert poor.binds == "data"
    assert poor.compute_gain_per_million < rich.compute_gain_per_million
    # the data lever's value rises as the pool shrinks
    gains = [
        levers(LAW, c, d_opt * k, usd_flop, usd_token).data_gain_per_million
        for k in (10, 1, 0.1, 0.01)
    ]
    assert gains == sorted(gains)


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


def test_degenerate_reference_law_is_reported_not_priced():
    from scaling.verdict import _rate_statements

    rate = {
        "measure": "loss:trace",
        "reference": "web",
        "treatment": "frontier",
        "compute_multiplier": None,
        "tokens_per_token": None,
        "interval": {},
        "budget_flops": 8e11,
        "note": "not estimated: web's law on held-out trace is degenerate (A=224, B=inf), "
        "so it prices no frontier token",
    }
    (text,) = _rate_statements([rate])
    assert "not estimated" in text and "degenerate" in text and "no amount" not in text
