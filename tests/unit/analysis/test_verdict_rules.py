"""The rules of the verdict on hand-built inputs whose right answer is known.

Validity gates (``scaling.analysis.gates``) at and beyond each threshold, and the typed
results of ``scaling.analysis.verdict``: the compute-optimal relation from isoFLOP replicates
or from the parametric law, the noise floor, the data wall, the tokens-per-parameter ratio of
two data types, the priced levers, and the headline (``verdict_text.headline``). Each outcome
is checked as an ``Estimate`` (value and interval) or an ``Undetermined`` (and its reason).
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from scipy.stats import chi2

from scaling.analysis import gates, verdict
from scaling.analysis.estimate import Estimate, Undetermined
from scaling.analysis.gates import Gate, isoflop_gate, parametric_gate
from scaling.analysis.verdict import (
    Optimum,
    choose_optimum,
    data_wall,
    isoflop_optimum,
    levers_entry,
    noise_floor,
    parametric_optimum,
    ratio_between,
    type_entry,
)
from scaling.analysis.verdict_text import headline
from scaling.core.costs import CostModel
from scaling.fit import ChinchillaFit, ChinchillaLaw, IsoFlopFit, IsoFlopMinimum, PowerLaw
from scaling.fit.allocation import FlopModel
from tests.helpers import chinchilla_sweep

LAW = ChinchillaLaw(E=1.8, A=400.0, B=1500.0, alpha=0.34, beta=0.28)
GOOD_IV = {
    "E": (1.7, 1.9),
    "A": (300.0, 500.0),
    "B": (1200.0, 1800.0),
    "alpha": (0.30, 0.38),
    "beta": (0.25, 0.31),
    "a": (0.40, 0.50),
    "b": (0.50, 0.60),
}
# isoFLOP power laws of the hand-built fits: N_opt = CN C^0.5, D_opt = CD C^0.5, C = 6 N D
CN, CD = 0.1, 1 / 0.6
BUDGETS = (1e18, 1e19, 1e20)


def _spread(n: int, width: float) -> np.ndarray:
    """n evenly spaced factors exp(-width) .. exp(width): replicates around a point."""
    return np.exp(width * np.linspace(-1.0, 1.0, n))


def par_fit(
    *, n_boot: int = 40, failed: int = 0, intervals: dict | None = None, **changes
) -> ChinchillaFit:
    """A fitted parametric law near ``LAW``: ``n_boot`` bootstrap refits whose alpha and beta
    spread by +-3%, the last ``failed`` of them failed (NaN, as ``fit_chinchilla`` stores
    them)."""
    values = {**LAW.params(), **{k: changes.pop(k) for k in list(changes) if k in LAW.params()}}
    samples = {}
    if n_boot:
        f = _spread(n_boot, 0.03)
        samples = {k: np.full(n_boot, float(v)) for k, v in values.items()}
        samples["alpha"] = values["alpha"] * f
        samples["beta"] = values["beta"] * f[::-1]
        for v in samples.values():
            v[n_boot - failed :] = np.nan
    return ChinchillaFit(
        **values,
        n_bootstrap_failed=failed,
        intervals={**GOOD_IV, **(intervals or {})},
        bootstrap_samples=samples,
        **changes,
    )


def _law(coef: float, exponent: float, interval: tuple, n: int) -> PowerLaw:
    return PowerLaw(coef, exponent, interval, r2=1.0, n_points=n, interval_method="bootstrap")


def iso_fit(
    *,
    a: float = 0.5,
    interval: tuple = (0.45, 0.55),
    n_used: int = 3,
    n_boot: int = 40,
    failed: int = 0,
    samples: bool = True,
) -> IsoFlopFit:
    """An isoFLOP fit whose minima lie on N_opt = CN C^a, D_opt = CD C^(1-a) at the first
    ``n_used`` budgets (the others at the ladder's edge); replicate coefficients spread by
    exp(+-0.1) (N) and exp(-+0.1) (D, so that C = 6 N D holds in every replicate)."""
    minima = tuple(
        IsoFlopMinimum(
            flops=c,
            n_opt=CN * c**a,
            d_opt=CD * c ** (1 - a),
            loss_opt=3.0,
            n_points=7,
            interior=i < n_used,
            used=i < n_used,
            reason=None if i < n_used else "minimum outside the sampled N range",
            sigma_log_n=0.1,
        )
        for i, c in enumerate(BUDGETS)
    )
    boot = {}
    if samples and n_boot:
        f = _spread(n_boot, 0.1)
        boot = {
            "a": np.full(n_boot, a),
            "b": np.full(n_boot, 1 - a),
            "n_coef": CN * f,
            "d_coef": CD / f,
        }
        for v in boot.values():
            v[n_boot - failed :] = np.nan
    lo, hi = interval
    return IsoFlopFit(
        minima=minima,
        n_opt_law=_law(CN, a, interval, n_used),
        d_opt_law=_law(CD, 1 - a, (1 - hi, 1 - lo), n_used),
        loss_opt_law=_law(10.0, -0.05, (-0.06, -0.04), n_used),
        tokens_per_param_law=_law(CD / CN, 1 - 2 * a, (-0.1, 0.1), n_used),
        method="spline",
        d_opt_source="tokens",
        r2=1.0,
        objective=0.0,
        n_points=21,
        bootstrap_samples=boot,
        n_bootstrap=n_boot,
        n_bootstrap_failed=failed,
    )


@pytest.fixture(scope="module")
def runs() -> pd.DataFrame:
    """Run records at the three budgets (C = 6 N D, 6N_total): the frame the rules read c_range,
    budgets and the FLOP model from."""
    return chinchilla_sweep(LAW, "web", budgets=BUDGETS)


# =========================================================================== parametric gate


def test_a_sound_parametric_law_passes():
    gate = parametric_gate(par_fit())
    assert gate == Gate(True)
    assert gate.why() == "" and gate.fix() == ""
    assert gate.to_dict() == {"usable": True, "reasons": [], "fixes": []}


@pytest.mark.parametrize("name", ["alpha", "beta"])
def test_an_exponent_interval_wider_than_the_limit_is_rejected(name):
    lo = 0.05
    wide = par_fit(intervals={name: (lo, lo + gates.MAX_EXPONENT_WIDTH + 0.01)})
    gate = parametric_gate(wide)
    assert not gate.usable
    assert gate.reasons == (f"{name}'s 95% interval [0.05, 0.56] is wider than `0.5`",)
    assert gate.fix() == "more budgets, model sizes or seeds"


@pytest.mark.parametrize("name", ["alpha", "beta"])
def test_an_exponent_interval_exactly_at_the_limit_passes(name):
    assert gates.MAX_EXPONENT_WIDTH == 0.5
    assert parametric_gate(par_fit(intervals={name: (0.25, 0.75)})).usable


@pytest.mark.parametrize(
    ("n_boot", "failed", "reason"),
    [
        (100, 10, None),  # 10% failed: at the limit, still usable
        (100, 11, "`11` of `100` bootstrap refits failed (more than `10%`)"),
        (20, 0, None),  # exactly MIN_BOOTSTRAP successful resamples
        (25, 6, "only `19` of `25` bootstrap refits succeeded (need `20`)"),
        (0, 0, "no bootstrap, so no interval"),
    ],
)
def test_bootstrap_thresholds_of_the_parametric_gate(n_boot, failed, reason):
    assert gates.MAX_FAILED_SHARE == 0.1 and gates.MIN_BOOTSTRAP == 20
    gate = parametric_gate(par_fit(n_boot=n_boot, failed=failed))
    if reason is None:
        assert gate.usable, gate.why()
    else:
        assert gate.reasons == (reason,)


@pytest.mark.parametrize(
    ("E", "e_interval", "usable"),
    [
        (5e-4, (1e-4, 1e-3), False),  # the point itself below MIN_E
        (1.8, (5e-4, 1.9), False),  # its interval reaches below MIN_E
        (1.8, (1e-3, 1.9), True),  # exactly at MIN_E
    ],
)
def test_irreducible_loss_must_be_identified(E, e_interval, usable):
    gate = parametric_gate(par_fit(E=E, intervals={"E": e_interval}))
    assert gate.usable is usable
    if not usable:
        assert gate.reasons == ("E is not identified (its interval reaches below `0.001` nats)",)
        assert gate.fix() == "larger models or more tokens, so that the loss flattens"


@pytest.mark.parametrize(
    ("name", "value", "usable"),
    [
        ("A", math.exp(49.9), True),
        ("A", math.exp(50.1), False),
        ("B", math.exp(-50.1), False),
        ("B", -1.0, False),
    ],
)
def test_a_runaway_coefficient_is_rejected(name, value, usable):
    gate = parametric_gate(par_fit(**{name: value}))
    assert gate.usable is usable
    if not usable:
        assert gate.reasons == (f"{name} ran away (|log {name}| > `50`)",)


def test_a_negative_alpha_is_rejected_with_its_meaning():
    gate = parametric_gate(par_fit(alpha=-0.05, intervals={"alpha": (-0.1, 0.0)}))
    assert not gate.usable
    assert gate.reasons[0] == (
        "alpha is not positive (95% interval [-0.1, 0]): loss does not fall with N at fixed D"
    )
    assert "a = beta/(alpha+beta) is outside `(0, 1)`" in gate.reasons  # a = 0.28 / 0.23
    assert gate.fixes[0] == "more model sizes at fixed tokens, or a tuned learning rate per width"


@pytest.mark.parametrize(
    ("interval", "shown"),
    [((-0.01, 0.45), "95% interval [-0.01, 0.45]"), (None, "no finite interval")],
)
def test_an_exponent_not_bounded_above_zero_is_rejected(interval, shown):
    iv = dict(GOOD_IV)
    iv.pop("beta")
    if interval is not None:
        iv["beta"] = interval
    fit = par_fit()
    fit = ChinchillaFit(**fit.params(), intervals=iv, bootstrap_samples=fit.bootstrap_samples)
    gate = parametric_gate(fit)
    assert gate.reasons == (
        f"beta is not bounded above zero ({shown}): loss does not fall with D at fixed N",
    )
    assert gate.fix() == gates.MORE_COMPUTE


def test_an_unconverged_or_non_finite_fit_is_rejected():
    stuck = parametric_gate(par_fit(converged=False, optimizer_message="ABNORMAL"))
    assert stuck.reasons == ("the optimiser did not converge: `ABNORMAL`",)
    nan = parametric_gate(par_fit(alpha=math.nan))
    assert nan.reasons == ("a parameter is not finite",)


def test_an_unfitted_parametric_law_gives_the_recorded_error():
    gate = parametric_gate({"error": "chinchilla: needs `5` points"})
    assert gate.reasons == ("not fitted: `chinchilla: needs '5' points`",)
    assert gate.fix() == "more runs"
    assert parametric_gate(None).reasons == ("not fitted: `not fitted`",)


def test_reasons_accumulate_and_fixes_are_said_once():
    both = par_fit(intervals={"alpha": (0.05, 0.7), "beta": (0.05, 0.7)})
    gate = parametric_gate(both)
    assert len(gate.reasons) == 2
    assert gate.why() == "; ".join(gate.reasons)
    assert gate.fix() == "more budgets, model sizes or seeds"  # the same fix, once


# =========================================================================== isoFLOP gate


def test_a_sound_isoflop_law_passes():
    assert isoflop_gate(iso_fit()) == Gate(True)


@pytest.mark.parametrize(("n_used", "usable"), [(1, False), (2, True), (3, True)])
def test_isoflop_needs_min_budgets_bracketed_minima(n_used, usable):
    assert gates.MIN_BUDGETS == 2
    gate = isoflop_gate(iso_fit(n_used=n_used))
    assert gate.usable is usable
    if not usable:
        assert gate.reasons == ("`1` budget(s) with a bracketed minimum (need `2`)",)
        assert "a wider model ladder" in gate.fix()


@pytest.mark.parametrize(
    ("a", "interval", "reason"),
    [
        (0.5, (0.25, 0.75), None),  # width exactly MAX_EXPONENT_WIDTH
        (0.5, (0.2, 0.75), "a's 95% interval [0.2, 0.75] is wider than `0.5`"),
        (0.8, (0.6, 1.05), "a's 95% interval [0.6, 1.05] leaves `(0, 1)`"),
        (1.2, (1.1, 1.3), "a is outside `(0, 1)` (95% interval [1.1, 1.3])"),
        (0.5, (math.nan, math.nan), "a has no finite interval"),
    ],
)
def test_isoflop_exponent_rules(a, interval, reason):
    gate = isoflop_gate(iso_fit(a=a, interval=interval))
    if reason is None:
        assert gate.usable, gate.why()
    else:
        assert gate.reasons == (reason,)
        assert gate.fix() == gates.MORE_COMPUTE


@pytest.mark.parametrize(
    ("n_boot", "failed", "reason"),
    [
        (100, 10, None),
        (100, 11, "`11` of `100` bootstrap refits failed (more than `10%`)"),
        (30, 11, "only `19` of `30` bootstrap refits succeeded (need `20`)"),
        (0, 0, "no bootstrap, so no interval"),
    ],
)
def test_bootstrap_thresholds_of_the_isoflop_gate(n_boot, failed, reason):
    gate = isoflop_gate(iso_fit(n_boot=n_boot, failed=failed))
    if reason is None:
        assert gate.usable, gate.why()
    else:
        assert gate.reasons == (reason,)


def test_an_unfitted_isoflop_law_gives_the_recorded_error():
    gate = isoflop_gate({"error": "isoflop: needs at least 3 runs"})
    assert gate.reasons == ("not fitted: `isoflop: needs at least 3 runs`",)
    assert gate.fix() == "a wider model ladder at each budget"


def test_gate_helpers():
    assert gates.is_fit(par_fit()) and not gates.is_fit({"error": "x"}) and not gates.is_fit(None)
    assert gates.finite_interval((0.1, 0.2)) == (0.1, 0.2)
    assert gates.finite_interval((0.1, math.inf)) is None
    assert gates.finite_interval((None, 0.2)) is None and gates.finite_interval(None) is None
    assert gates.failed_share(np.array([1.0, np.nan, np.inf, 2.0])) == 0.5
    assert gates.failed_share(np.array([])) == 1.0


# =========================================================================== noise floor


def _replicated(d: float, seeds: int = 3) -> pd.DataFrame:
    """Two grid points whose seeds' log losses are m - d, m, m + d (three seeds): the pooled
    SD of log loss is exactly d with 2 x (3 - 1) = 4 degrees of freedom."""
    rows = []
    for model, m in (("s", math.log(3.0)), ("l", math.log(2.5))):
        for s, off in zip(range(seeds), (-d, 0.0, d)[:seeds], strict=True):
            rows.append(
                {
                    "data_type": "web",
                    "model": model,
                    "budget_flops": 1e18,
                    "seed": s,
                    "loss": math.exp(m + off),
                }
            )
    return pd.DataFrame(rows)


def test_noise_floor_is_the_pooled_sd_of_log_loss_with_a_chi_square_interval():
    nf = noise_floor(_replicated(0.01))
    assert isinstance(nf, Estimate)
    assert nf.value == pytest.approx(0.01, rel=1e-9)
    ss, dof = 4 * 0.01**2, 4
    assert nf.lo == pytest.approx(math.sqrt(ss / chi2.ppf(0.975, dof)), rel=1e-9)
    assert nf.hi == pytest.approx(math.sqrt(ss / chi2.ppf(0.025, dof)), rel=1e-9)
    assert nf.lo < nf.value < nf.hi
    assert nf.method == "chi-square" and nf.n_samples == dof and nf.unit == "in log loss"


def test_noise_floor_pools_within_each_data_type():
    """Another data type at the same (model, budget) labels with a different loss is its own
    grid point: pooling across data types would inflate the noise."""
    web = _replicated(0.01)
    code = web.assign(data_type="code", loss=web.loss * 1.5)
    nf = noise_floor(pd.concat([web, code], ignore_index=True))
    assert nf.value == pytest.approx(0.01, rel=1e-9) and nf.n_samples == 8


def test_noise_floor_without_replicates_is_undetermined():
    one = _replicated(0.01).query("seed == 0")
    nf = noise_floor(one)
    assert isinstance(nf, Undetermined) and nf.reason.startswith("one seed per grid point")
    assert "seed=0,1,2" in nf.fix
    assert isinstance(noise_floor(one.drop(columns="seed")), Undetermined)
    # two seeds in the sweep, but never at the same grid point
    apart = _replicated(0.01).query("seed < 2 and ((model == 's') == (seed == 0))")
    nf = noise_floor(apart)
    assert nf == Undetermined("no grid point has two seeds", "replicate a grid point")


# =========================================================================== optimum


def test_isoflop_optimum_from_its_replicates():
    opt = isoflop_optimum(iso_fit(n_boot=40), (1e18, 1e20))
    assert isinstance(opt, Optimum) and opt.source == "isoflop" and len(opt.replicates) == 40
    c = 1e19
    n, d, r, ratio = opt.at(c)
    f = _spread(40, 0.1)
    # 40 replicates: the 2.5% and 97.5% order statistics are the extreme replicates
    assert n == Estimate(
        CN * c**0.5, CN * f[0] * c**0.5, CN * f[-1] * c**0.5, unit="params", n_samples=40
    )
    assert d.value == pytest.approx(CD * c**0.5)
    assert (d.lo, d.hi) == pytest.approx((CD / f[-1] * c**0.5, CD / f[0] * c**0.5))
    assert r.value == pytest.approx(CD / CN)  # 16.7 tokens per parameter at every C
    np.testing.assert_allclose(ratio, CD / CN / f**2)
    assert (r.lo, r.hi) == pytest.approx((ratio.min(), ratio.max()))
    assert not n.extrapolated


def test_isoflop_optimum_beyond_the_sweep_is_marked_extrapolated():
    opt = isoflop_optimum(iso_fit(), (1e18, 1e20))
    n, d, r, _ = opt.at(1e22)
    assert n.extrapolated and d.extrapolated and r.extrapolated
    assert "extrapolated" in n.render()


def test_isoflop_optimum_drops_failed_replicates_and_needs_enough_of_them():
    assert len(isoflop_optimum(iso_fit(n_boot=40, failed=3), (1e18, 1e20)).replicates) == 37
    few = isoflop_optimum(iso_fit(n_boot=10), (1e18, 1e20))
    n, *_ = few.at(1e19)
    assert n == Undetermined(
        "only `10` bootstrap estimates of N_opt (need `20`)", "more bootstrap resamples"
    )
    assert isoflop_optimum(iso_fit(samples=False), (1e18, 1e20)) is None


def test_parametric_optimum_matches_the_closed_form_under_6nd():
    par = par_fit(n_boot=30, failed=2)
    opt = parametric_optimum(par, FlopModel.six_nd(), (1e18, 1e20))
    assert opt.source == "parametric" and len(opt.replicates) == 28
    for c in (1e18, 1e20):
        n, d, r, _ = opt.at(c)
        n_cf, d_cf = LAW.compute_optimal(c)
        assert n.value == pytest.approx(n_cf, rel=1e-4)
        assert d.value == pytest.approx(d_cf, rel=1e-4)
        assert r.value == pytest.approx(d_cf / n_cf, rel=2e-4)
        assert n.lo < n.value < n.hi and n.n_samples == 28
        # the interval is that of the refits' own closed forms
        reps = np.array([law.compute_optimal(c)[0] for law in par.bootstrap_laws()])
        assert n.lo == pytest.approx(reps.min(), rel=1e-4)
        assert n.hi == pytest.approx(reps.max(), rel=1e-4)


def test_choose_optimum_prefers_the_isoflop_law(runs):
    assert choose_optimum(iso_fit(), par_fit(), runs).source == "isoflop"
    # without replicate laws the isoFLOP fit cannot give intervals: the parametric law is used
    assert choose_optimum(iso_fit(samples=False), par_fit(), runs).source == "parametric"
    assert choose_optimum(iso_fit(n_used=1), par_fit(), runs).source == "parametric"
    assert choose_optimum({"error": "x"}, par_fit(), runs).source == "parametric"
    opt = choose_optimum(iso_fit(), par_fit(), runs)
    assert opt.c_range == (1e18, 1e20)


def test_choose_optimum_without_a_usable_law_says_why(runs):
    iso = iso_fit(n_used=1)
    out = choose_optimum(iso, par_fit(converged=False), runs)
    assert out == Undetermined(
        "neither the isoFLOP nor the parametric law passes the validity gates (reasons above)",
        isoflop_gate(iso).fix(),
    )


# =========================================================================== data wall


def test_data_wall_of_the_isoflop_optimum():
    """D_opt = CD C^0.5 reaches U tokens at C = (U / CD)^2; four epochs at 16x that."""
    opt = isoflop_optimum(iso_fit(), (1e18, 1e20))
    u = 1e10
    wall = data_wall(opt, u)
    assert wall["law"] == "isoflop" and wall["unique_tokens"] == u
    assert wall["repeat_epochs"] == verdict.REPEAT_EPOCHS == 4.0
    fresh, repeated = wall["fresh"], wall["repeated"]
    assert isinstance(fresh, Estimate) and fresh.unit == "FLOPs"
    assert fresh.value == pytest.approx((u / CD) ** 2, rel=1e-6)
    # replicate D coefficients CD / f: walls (U f / CD)^2, extremes at f = exp(+-0.1)
    assert (fresh.lo, fresh.hi) == pytest.approx(
        ((u / CD) ** 2 * math.exp(-0.2), (u / CD) ** 2 * math.exp(0.2)), rel=1e-6
    )
    assert not fresh.extrapolated  # 3.6e19: inside the sweep
    assert repeated.value == pytest.approx(16 * (u / CD) ** 2, rel=1e-6)
    assert repeated.extrapolated  # 5.8e20: beyond the largest budget


def test_a_data_wall_beyond_the_compute_window_is_undetermined():
    wall = data_wall(isoflop_optimum(iso_fit(), (1e18, 1e20)), 1e16)  # at C = 3.6e31
    assert wall["fresh"] == Undetermined("D_opt never reaches this pool within `1e30` FLOPs")


def test_data_wall_without_an_optimum_repeats_the_reason():
    why = Undetermined("no law", "more runs")
    assert data_wall(why, 1e9) == {"unique_tokens": 1e9, "fresh": why, "repeated": why}


# =========================================================================== per type, ratio


@pytest.mark.parametrize(
    ("pool", "binds"), [(1e10, "data"), (1e11, "compute"), (CD * 1e10, "undetermined")]
)
def test_type_entry_says_what_binds_at_the_top_budget(runs, pool, binds):
    """At C = 1e20, D_opt = CD x 1e10 = 1.7e10 [1.5e10, 1.8e10]: a smaller pool binds, a larger
    one does not, one inside the interval is undetermined."""
    e = type_entry(runs, "web", {"isoflop": iso_fit(), "chinchilla": par_fit()}, pool, None)
    assert e["optimum_source"] == "isoflop" and e["at_budget"]["flops"] == 1e20
    d = e["at_budget"]["d_opt"]
    assert d.value == pytest.approx(CD * 1e10)
    assert e["pool_tokens"] == pool and e["pool_source"] == "given"
    assert e["binds_at_budget"] == binds
    assert e["isoflop"]["a"].value == 0.5 and e["isoflop"]["budgets"] == list(BUDGETS)
    assert e["parametric"]["gate"].usable and e["parametric"]["alpha"] == Estimate(0.34, 0.30, 0.38)


def test_type_entry_without_a_usable_law_gives_no_allocation(runs):
    e = type_entry(
        runs, "web", {"isoflop": iso_fit(n_used=1), "chinchilla": {"error": "x"}}, None, None
    )
    assert e["optimum_source"] is None
    assert isinstance(e["at_budget"]["undetermined"], Undetermined)
    assert e["isoflop"]["edge_budgets"] == [1e19, 1e20]
    assert "a" not in e["isoflop"] and "alpha" not in e["parametric"]
    assert e["data_wall"] is None and "binds_at_budget" not in e


def _entry(tpp, samples, flops=1e19):
    return {"at_budget": {"flops": flops, "tokens_per_param": tpp}, "_ratio_samples": samples}


def test_ratio_between_two_types_pairs_their_replicates():
    web = _entry(Estimate(40.0, 38.0, 42.0), np.linspace(38.0, 42.0, 30))
    code = _entry(Estimate(20.0, 19.0, 21.0), np.full(30, 20.0))
    out = ratio_between({"code": code, "web": web})
    assert out["more"] == "web" and out["less"] == "code" and out["flops"] == 1e19
    assert out["ratio"] == Estimate(2.0, 1.9, 2.1, n_samples=30)


def test_ratio_between_pairs_only_as_many_replicates_as_both_have():
    web = _entry(Estimate(40.0, 38.0, 42.0), np.full(50, 40.0))
    code = _entry(Estimate(20.0, 19.0, 21.0), np.full(25, 20.0))
    assert ratio_between({"code": code, "web": web})["ratio"].n_samples == 25


def test_ratio_between_needs_two_types_with_intervals_at_one_budget():
    web = _entry(Estimate(40.0, 38.0, 42.0), np.full(30, 40.0))
    assert ratio_between({"web": web}) is None
    missing = {
        "web": web,
        "code": {"at_budget": {"flops": 1e19, "undetermined": Undetermined("x")}},
    }
    out = ratio_between(missing)["undetermined"]
    assert out.reason == "no compute-optimal tokens per parameter with an interval for code"
    apart = {"web": web, "code": _entry(Estimate(20.0, 19.0, 21.0), np.full(30, 20.0), flops=1e20)}
    assert ratio_between(apart) == {
        "undetermined": Undetermined("the data types' largest budgets differ")
    }


# =========================================================================== levers


def test_levers_are_not_priced_for_a_rejected_law(runs):
    par = par_fit(converged=False, optimizer_message="ABNORMAL")
    out = levers_entry(runs, "web", par, {"pool_tokens": 1e10}, CostModel(), None)
    gate = parametric_gate(par)
    assert out == {
        "undetermined": Undetermined(
            f"its parametric law fails the gates ({gate.why()})", gate.fix()
        )
    }


def test_levers_need_a_pool_and_a_price_per_token(runs):
    costs = CostModel(expert_seconds_per_token=1e-6)
    out = levers_entry(runs, "web", par_fit(), {"pool_tokens": None}, costs, None)
    assert out == {"undetermined": Undetermined("no unique-data pool", "pass --unique-tokens")}
    out = levers_entry(runs, "web", par_fit(), {"pool_tokens": 1e10}, CostModel(), None)
    assert out["undetermined"] == Undetermined(
        "no cost per token: its runs recorded no expert time",
        "set expert_seconds_per_token in --costs",
    )


def test_levers_priced_from_the_cost_file_at_the_top_budget(runs):
    costs = CostModel(expert_seconds_per_token=1e-6)
    out = levers_entry(runs, "web", par_fit(), {"pool_tokens": 1e10}, costs, None)
    assert out["seconds_per_token"] == 1e-6 and out["seconds_source"] == "from the cost file"
    lv = out["levers"]
    assert lv.flops == 1e20 and lv.unique_tokens == 1e10  # the largest budget, the given pool
    assert lv.compute_cost_dollars == pytest.approx(1e20 * costs.dollars_per_flop)
    assert lv.data_cost_dollars == pytest.approx(1e10 * 100.0 * 1e-6 / 3600)
    assert isinstance(lv.compute_gain, Estimate) and lv.compute_gain.lo > 0
    assert lv.compute_gain.n_samples == 40 and isinstance(lv.ratio, Estimate)
    other = levers_entry(runs, "web", par_fit(), {"pool_tokens": 1e10}, costs, 1e19)
    assert other["levers"].flops == 1e19  # an explicit budget wins


def test_levers_use_the_expert_time_the_runs_recorded(runs):
    df = runs.assign(data_cost_expert_seconds_per_token=np.linspace(1e-6, 3e-6, len(runs)))
    out = levers_entry(df, "web", par_fit(), {"pool_tokens": 1e10}, CostModel(), None)
    assert out["seconds_per_token"] == pytest.approx(2e-6)  # the median over the runs
    assert out["seconds_source"] == "recorded by the runs' correction pipeline"
    assert out["levers"].data_cost_dollars == pytest.approx(1e10 * 100.0 * 2e-6 / 3600)


def test_levers_price_the_seconds_per_token_they_report(runs):
    """The cost file's expert time overrides the runs' recorded one, in the statement and in the
    price alike (before: the statement named the runs' 2e-6 and the price used the file's 1e-6)."""
    df = runs.assign(data_cost_expert_seconds_per_token=2e-6)
    costs = CostModel(expert_seconds_per_token=1e-6)
    out = levers_entry(df, "web", par_fit(), {"pool_tokens": 1e10}, costs, None)
    spt = out["seconds_per_token"]
    assert spt == 1e-6 and out["seconds_source"] == "from the cost file"
    assert out["levers"].data_cost_dollars == pytest.approx(1e10 * 100.0 * spt / 3600)


# =========================================================================== headline


def _type(iso_ok: bool, par_ok: bool, **extra) -> dict:
    return {
        "isoflop": {"gate": Gate(iso_ok, () if iso_ok else ("x",))},
        "parametric": {"gate": Gate(par_ok, () if par_ok else ("y",))},
        "levers": {"undetermined": Undetermined("no pool")},
        **extra,
    }


def test_headline_counts_the_laws_that_pass():
    v = {"data_types": {"web": _type(True, False), "code": _type(False, False)}}
    assert headline(v) == (
        "Headline: `1 of 4` laws pass the validity gates (`web` isoFLOP); "
        "which input binds: not determined for any data type."
    )
    none = {"data_types": {"web": _type(False, False)}}
    assert headline(none).startswith("Headline: `0 of 2` laws pass the validity gates; ")


def test_headline_names_what_binds():
    lv = SimpleNamespace(binds="data")
    v = {
        "data_types": {
            "web": _type(True, True, levers={"levers": lv}),
            "code": _type(True, True, binds_at_budget="compute"),
            "math": _type(True, True, binds_at_budget="undetermined"),
        }
    }
    text = headline(v)
    assert "`6 of 6` laws pass" in text
    assert text.endswith(
        "which input binds: `web`: data binds (per dollar); "
        "`code`: compute binds (D_opt against its pool)."
    )


def _task_rate(t: Estimate, r: Estimate):
    top = SimpleNamespace(flops=1e19, treatment=t, reference=r)
    return SimpleNamespace(measure="task:arith", treatment="code", reference="web", points=[top])


def test_headline_states_a_task_win_only_when_the_intervals_are_apart():
    types = {"web": _type(True, True)}
    apart = _task_rate(Estimate(0.8, 0.75, 0.85), Estimate(0.5, 0.45, 0.55))
    text = headline({"data_types": types, "exchange_rates": [apart]})
    assert (
        "on the verified task `arith` at `C=1.00e19`, `code` beats `web` "
        "(80% [75%, 85%] vs 50% [45%, 55%], Wilson intervals apart)"
    ) in text
    reverse = _task_rate(Estimate(0.3, 0.25, 0.35), Estimate(0.5, 0.45, 0.55))
    assert "`web` beats `code`" in headline({"data_types": types, "exchange_rates": [reverse]})
    overlap = _task_rate(Estimate(0.52, 0.47, 0.57), Estimate(0.5, 0.45, 0.55))
    assert "beats" not in headline({"data_types": types, "exchange_rates": [overlap]})
    loss = SimpleNamespace(
        measure="loss:web", treatment="code", reference="web", points=apart.points
    )
    assert "beats" not in headline({"data_types": types, "exchange_rates": [loss]})
