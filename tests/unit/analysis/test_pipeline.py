"""``scaling.analysis.pipeline.fit_sweep``: which laws it fits per data type, what it records
when the data cannot support a law, how seed replicates set the parametric fit's Huber scale
and bootstrap clusters, and the round trip of the fits through fits.json."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from scaling import fit
from scaling.analysis import pipeline
from scaling.analysis.estimate import Estimate
from scaling.analysis.pipeline import (
    FITS,
    HUBER_TUNING,
    fit_sweep,
    fits_to_dict,
    load_fits,
    replicate_options,
    write_json,
)
from scaling.analysis.verdict import noise_floor
from scaling.core.errors import UserError
from scaling.fit import ChinchillaFit, ChinchillaLaw, IsoFlopFit, SigmoidFit
from tests.helpers import chinchilla_sweep

WEB = ChinchillaLaw(E=1.8172, A=482.01, B=2085.43, alpha=0.3478, beta=0.3658)
CODE = ChinchillaLaw(E=2.1, A=300.0, B=1500.0, alpha=0.30, beta=0.40)
BOOT = 25  # enough resamples for the gates' minimum of 20, small enough to be quick


def _two_types(**kw) -> pd.DataFrame:
    df = pd.concat(
        [chinchilla_sweep(WEB, "web", rng_seed=1, **kw), chinchilla_sweep(CODE, "code", **kw)],
        ignore_index=True,
    )
    # a task scored only on web runs, rising with compute; code's column is empty there
    web = df.data_type == "web"
    z = np.log10(df.flops.to_numpy(float)) - 19 + 0.2 * np.log(df.params / df.params.min())
    df["acc_arith"] = np.where(web, 1 / (1 + np.exp(-2 * z)), np.nan)
    df["acc_flat"] = np.where(web, 0.5, np.nan)  # one value only: nothing to fit
    return df


@pytest.fixture(scope="module")
def sweep() -> pd.DataFrame:
    return _two_types(seeds=(0, 1), noise=0.003)


@pytest.fixture(scope="module")
def fits(sweep):
    return fit_sweep(sweep, bootstrap=BOOT, n_starts=100)


def test_each_data_type_gets_its_laws(fits):
    assert list(fits) == ["code", "web"]  # sorted data types
    assert set(fits["web"]) == {"isoflop", "chinchilla", "accuracy/arith"}
    assert set(fits["code"]) == {"isoflop", "chinchilla"}  # no accuracy where none was scored
    for dt in fits:
        assert isinstance(fits[dt]["isoflop"], IsoFlopFit)
        assert isinstance(fits[dt]["chinchilla"], ChinchillaFit)
    assert isinstance(fits["web"]["accuracy/arith"], SigmoidFit)
    assert fits["web"]["accuracy/arith"].against == "log_flops"


def test_each_data_type_is_fitted_on_its_own_runs(sweep, fits):
    for dt, law in (("web", WEB), ("code", CODE)):
        g = sweep[sweep.data_type == dt]
        par, iso = fits[dt]["chinchilla"], fits[dt]["isoflop"]
        assert par.n_points == len(g) and iso.n_points == len(g)
        assert [m.flops for m in iso.minima] == sorted(g.budget_flops.unique())
        # each data type recovers its own law, not the other's
        assert abs(par.a - law.a) < 0.02
        assert abs(par.E / law.E - 1) < 0.05
        assert iso.d_opt_source == "tokens"  # D_opt from the runs' token counts
        assert iso.n_bootstrap == BOOT and len(par.bootstrap_samples["E"]) == BOOT
    assert fits["code"]["chinchilla"].a > fits["web"]["chinchilla"].a  # 0.57 vs 0.51


def test_a_law_the_data_cannot_support_is_recorded_not_raised(sweep):
    """A third data type with one budget of four runs: no isoFLOP law (one budget) and no
    parametric law (five parameters, four points); the others are still fitted."""
    tiny = chinchilla_sweep(WEB, "tiny", budgets=(1e19,), sizes=4)
    out = fit_sweep(pd.concat([sweep, tiny], ignore_index=True), bootstrap=0, n_starts=50)
    assert set(out) == {"code", "tiny", "web"}
    iso, par = out["tiny"]["isoflop"], out["tiny"]["chinchilla"]
    assert set(iso) == {"error"} and set(par) == {"error"}
    assert iso["error"].startswith("isoflop: needs at least 3 runs at each of at least 2 FLOP")
    assert "usable budgets: 1 of 1" in iso["error"]
    assert par["error"].startswith("chinchilla: needs at least 5 points")
    assert isinstance(out["web"]["isoflop"], IsoFlopFit)
    assert isinstance(out["web"]["chinchilla"], ChinchillaFit)


def test_only_user_errors_are_recorded(monkeypatch, sweep):
    """A bug in a fit is raised, not hidden in the fits as an 'error'."""

    def broken(*args, **kw):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(fit, "fit_isoflop", broken)
    with pytest.raises(ZeroDivisionError, match="a bug"):
        fit_sweep(sweep, bootstrap=0, n_starts=10)


def test_runs_without_a_finite_loss_are_left_out(sweep):
    df = sweep[sweep.data_type == "web"].copy()
    df.loc[df.index[:3], "loss"] = [np.nan, np.inf, np.nan]
    out = fit_sweep(df, bootstrap=0, n_starts=50)
    assert out["web"]["chinchilla"].n_points == len(df) - 3
    assert out["web"]["isoflop"].n_points == len(df) - 3


def test_an_empty_frame_is_a_user_error():
    with pytest.raises(UserError, match=r"^no finished runs to fit .*run the sweep first$"):
        fit_sweep(pd.DataFrame())


def test_a_constant_accuracy_is_not_fitted(fits):
    assert "accuracy/flat" not in fits["web"]


# --------------------------------------------------------------------------- seed replicates


def test_replicates_set_the_huber_scale_from_the_noise_floor(sweep, fits):
    for dt in ("web", "code"):
        g = sweep[sweep.data_type == dt]
        nf = noise_floor(g)
        assert isinstance(nf, Estimate)
        assert nf.lo < 0.003 < nf.hi  # the synthetic seed noise, recovered
        want = max(1e-3, HUBER_TUNING * nf.value)
        assert want > 1e-3  # the noise floor, not Hoffmann's default, sets it here
        assert replicate_options(g)["huber_delta"] == pytest.approx(want)
        assert fits[dt]["chinchilla"].huber_delta == pytest.approx(want)


def test_replicates_give_one_bootstrap_cluster_per_grid_point(sweep):
    g = sweep[sweep.data_type == "web"]
    clusters = replicate_options(g)["clusters"]
    assert len(clusters) == len(g)
    point = list(zip(g.model, g.budget_flops, strict=True))
    assert len(set(clusters)) == len(set(point)) == len(g) // 2
    for i in range(len(g)):
        for j in range(len(g)):
            assert (clusters[i] == clusters[j]) == (point[i] == point[j])


def test_fit_sweep_passes_the_clusters_and_scale_to_the_parametric_fit(monkeypatch, sweep):
    seen = {}
    real = fit.fit_chinchilla

    def spy(params, tokens, loss, **kw):
        seen[len(params)] = kw
        return real(params, tokens, loss, **kw)

    monkeypatch.setattr(fit, "fit_chinchilla", spy)
    g = sweep[sweep.data_type == "web"]
    fit_sweep(g, bootstrap=0, n_starts=20)
    kw = seen[len(g)]
    opts = replicate_options(g)
    assert kw["huber_delta"] == pytest.approx(opts["huber_delta"])
    np.testing.assert_array_equal(kw["clusters"], opts["clusters"])


def test_without_replicates_hoffmanns_scale_and_a_bootstrap_over_runs(monkeypatch):
    one_seed = _two_types(seeds=(0,), noise=0.003)
    assert replicate_options(one_seed[one_seed.data_type == "web"]) == {}
    seen = []
    real = fit.fit_chinchilla

    def spy(params, tokens, loss, **kw):
        seen.append(kw)
        return real(params, tokens, loss, **kw)

    monkeypatch.setattr(fit, "fit_chinchilla", spy)
    out = fit_sweep(one_seed, bootstrap=0, n_starts=20)
    assert len(seen) == 2 and all("clusters" not in kw and "huber_delta" not in kw for kw in seen)
    assert all(out[dt]["chinchilla"].huber_delta == 1e-3 for dt in out)


def test_identical_replicates_keep_the_huber_scale_at_its_floor():
    """Seeds that agree exactly measure zero noise; the scale stays at Hoffmann's 1e-3."""
    g = chinchilla_sweep(WEB, "web", seeds=(0, 1), noise=0.0)
    nf = noise_floor(g)
    assert isinstance(nf, Estimate) and nf.value == 0.0
    assert replicate_options(g)["huber_delta"] == 1e-3


# --------------------------------------------------------------------------- fits.json


def test_fits_round_trip_through_write_json_and_load_fits(sweep, fits, tmp_path):
    tiny = chinchilla_sweep(WEB, "tiny", budgets=(1e19,), sizes=4)
    with_error = {**fits, "tiny": {"isoflop": {"error": "isoflop: needs 2 budgets"}}}
    summary = pipeline.sweep_summary(pd.concat([sweep, tiny]), tmp_path)
    write_json(tmp_path / FITS, {"sweep": summary, **fits_to_dict(with_error)})
    loaded = load_fits(tmp_path)
    assert set(loaded) == {"sweep", "code", "web", "tiny"}
    assert loaded["tiny"] == {"isoflop": {"error": "isoflop: needs 2 budgets"}}
    assert loaded["sweep"]["runs"] == len(sweep) + len(tiny)
    assert loaded["sweep"]["data_types"] == ["code", "tiny", "web"]
    assert loaded["sweep"]["budgets"] == [1e18, 1e19, 1e20]
    for dt in ("code", "web"):
        par, iso = fits[dt]["chinchilla"], fits[dt]["isoflop"]
        lp, li = loaded[dt]["chinchilla"], loaded[dt]["isoflop"]
        assert lp["law"] == "chinchilla" and li["law"] == "isoflop"
        for k in ("E", "A", "B", "alpha", "beta", "a", "b"):
            assert lp[k] == getattr(par, k)  # floats survive JSON exactly
        assert lp["intervals"] == {k: list(v) for k, v in par.intervals.items()}
        assert lp["n_bootstrap"] == BOOT
        assert f"delta={par.huber_delta:g}" in lp["objective_kind"]
        assert li["a"] == iso.a and li["n_opt_law"]["interval"] == list(iso.n_opt_law.interval)
        assert [m["n_opt"] for m in li["minima"]] == [m.n_opt for m in iso.minima]
        assert [m["sigma_log_n"] for m in li["minima"]] == [m.sigma_log_n for m in iso.minima]
    acc = loaded["web"]["accuracy/arith"]
    assert acc["law"] == "accuracy" and acc["k"] == fits["web"]["accuracy/arith"].k
    # the file is plain, key-sorted JSON (NaN written as null) that json itself reads back
    text = (tmp_path / FITS).read_text()
    assert "NaN" not in text and "Infinity" not in text
    assert json.loads(text) == loaded


def test_non_finite_numbers_are_written_as_null(tmp_path):
    write_json(tmp_path / FITS, {"web": {"isoflop": {"x": math.nan, "y": [1.0, math.inf]}}})
    assert load_fits(tmp_path) == {"web": {"isoflop": {"x": None, "y": [1.0, None]}}}


def test_load_fits_names_the_missing_file_and_the_command(tmp_path):
    with pytest.raises(UserError, match=r"fits\.json not found; run: scaling fit "):
        load_fits(tmp_path)
