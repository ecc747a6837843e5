"""The figures of ``scaling.analysis.plots``, checked by what they draw.

A synthetic sweep of two data types follows two known Chinchilla laws (with seed noise), is
fitted once by ``fit_sweep``, and every figure is inspected through its matplotlib objects: the
axes, the plotted points against the fit's isoFLOP minima, the error bars, log scales, the
exponent intervals in titles and legends for laws that pass the validity gates, and what is
said instead for laws that do not.
"""

from __future__ import annotations

import math
import re
from dataclasses import replace

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PathCollection
from matplotlib.colors import to_rgba

from scaling.analysis import plots
from scaling.analysis.gates import isoflop_gate, parametric_gate
from scaling.analysis.pipeline import fit_sweep
from scaling.fit import ChinchillaLaw
from tests.helpers import BUDGETS, chinchilla_sweep

# Besiroglu et al. 2024, Table 1, and a second law with a larger a = beta / (alpha + beta)
WEB = ChinchillaLaw(E=1.8172, A=482.01, B=2085.43, alpha=0.3478, beta=0.3658)
CODE = ChinchillaLaw(E=2.1, A=300.0, B=1500.0, alpha=0.30, beta=0.40)
TRUE = {"web": WEB, "code": CODE}
INTERVAL = re.compile(r"(-?\d+\.\d+) \[(-?\d+\.\d+), (-?\d+\.\d+)\]")


def _accuracy(flops: pd.Series, params: pd.Series) -> np.ndarray:
    """A task accuracy rising with log compute (and a little with model size)."""
    z = 1.5 * (np.log10(flops.to_numpy(float)) - 19.0) + 0.1 * np.log(params.to_numpy(float))
    return 1 / (1 + np.exp(-(z - 2.0)))


@pytest.fixture(scope="module")
def sweep() -> pd.DataFrame:
    frames = [
        chinchilla_sweep(law, dt, seeds=(0, 1), noise=0.003, rng_seed=k)
        for k, (dt, law) in enumerate(TRUE.items())
    ]
    df = pd.concat(frames, ignore_index=True)
    df["acc_arith"] = _accuracy(df.flops, df.params)
    return df


@pytest.fixture(scope="module")
def fits(sweep):
    return fit_sweep(sweep, bootstrap=30, seed=0, n_starts=100)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _axes_by_type(fig, df):
    """{data_type: axes}, the panels in the sorted order of the data types."""
    types = sorted(df.data_type.unique())
    assert len(fig.axes) == len(types)
    return dict(zip(types, fig.axes, strict=True))


def _lines(ax, marker=None, label=None, style=None):
    out = []
    for ln in ax.get_lines():
        if marker is not None and ln.get_marker() != marker:
            continue
        if label is not None and not ln.get_label().startswith(label):
            continue
        if style is not None and ln.get_linestyle() != style:
            continue
        out.append(ln)
    return out


def _xy(line):
    return np.asarray(line.get_xdata(), float), np.asarray(line.get_ydata(), float)


def _interval(text: str, value: float) -> tuple[float, float]:
    """The "[lo, hi]" printed right after ``value`` (2 decimals) in ``text``."""
    for v, lo, hi in INTERVAL.findall(text):
        if float(v) == round(value, 2):
            return float(lo), float(hi)
    raise AssertionError(f"no '{value:.2f} [lo, hi]' in {text!r}")


def _reject_iso(fits, dt):
    """The fits with ``dt``'s isoFLOP law failing the gates (too few successful resamples)."""
    iso = fits[dt]["isoflop"]
    bad = replace(iso, n_bootstrap_failed=iso.n_bootstrap)
    assert not isoflop_gate(bad).usable
    return {**fits, dt: {**fits[dt], "isoflop": bad}}


def _reject_par(fits, dt):
    """The fits with ``dt``'s parametric law failing the gates (the optimiser did not converge)."""
    par = fits[dt]["chinchilla"]
    bad = replace(par, converged=False, optimizer_message="ABNORMAL_TERMINATION_IN_LNSRCH")
    assert not parametric_gate(bad).usable
    return {**fits, dt: {**fits[dt], "chinchilla": bad}}


def test_the_synthetic_laws_pass_the_gates(fits):
    """The premise of the figure checks: both laws of both data types are usable."""
    assert set(fits) == {"code", "web"}
    for dt in fits:
        assert isoflop_gate(fits[dt]["isoflop"]).usable, isoflop_gate(fits[dt]["isoflop"]).why()
        par = fits[dt]["chinchilla"]
        assert parametric_gate(par).usable, parametric_gate(par).why()
        assert all(m.interior and m.used for m in fits[dt]["isoflop"].minima)


# --------------------------------------------------------------------------- isoFLOP curves


def test_isoflop_curves_draw_every_run_and_the_fitted_minima(sweep, fits):
    fig = plots.isoflop_curves(sweep, fits)
    for dt, ax in _axes_by_type(fig, sweep).items():
        g = sweep[sweep.data_type == dt]
        iso = fits[dt]["isoflop"]
        assert ax.get_xscale() == "log"
        assert ax.get_xlabel() == "parameters N"
        assert f"'{dt}'" in ax.get_ylabel()
        # every run, once, as a marker at (params, loss)
        pts = np.concatenate([np.column_stack(_xy(ln)) for ln in _lines(ax, marker="o")])
        want = g[["params", "loss"]].to_numpy(float)
        assert len(pts) == len(want)
        np.testing.assert_allclose(
            pts[np.lexsort(pts.T[::-1])], want[np.lexsort(want.T[::-1])], rtol=1e-12
        )
        # one star per budget, at the fit's minimum
        stars = _lines(ax, marker="*")
        assert len(stars) == len(BUDGETS)
        xs = [float(_xy(s)[0][0]) for s in stars]
        ys = [float(_xy(s)[1][0]) for s in stars]
        np.testing.assert_allclose(xs, [m.n_opt for m in iso.minima], rtol=1e-12)
        np.testing.assert_allclose(ys, [m.loss_opt for m in iso.minima], rtol=1e-12)
        # the fitted minima lie within one rung (a factor 2) of the true law's N_opt
        for m in iso.minima:
            true_n = float(TRUE[dt].compute_optimal(m.flops)[0])
            assert abs(math.log(m.n_opt / true_n)) < math.log(2), (dt, m.flops, m.n_opt, true_n)
        # bracketed minima are filled with their budget's colour
        for s in stars:
            assert to_rgba(s.get_markerfacecolor()) == to_rgba(s.get_color())
        assert [t.get_text() for t in ax.get_legend().get_texts()] == [
            "C=1e18",
            "C=1e19",
            "C=1e20",
        ]


def test_isoflop_minima_carry_error_bars_of_their_bootstrap_sigma(sweep, fits):
    fig = plots.isoflop_curves(sweep, fits)
    for dt, ax in _axes_by_type(fig, sweep).items():
        bars = [
            ln
            for ln in ax.get_lines()
            if len(ln.get_xdata()) == 2 and ln.get_marker() in ("None", "", None)
        ]
        assert len(bars) == len(BUDGETS)
        for bar, m in zip(bars, fits[dt]["isoflop"].minima, strict=True):
            x, y = _xy(bar)
            assert math.isfinite(m.sigma_log_n) and m.sigma_log_n > 0
            np.testing.assert_allclose(
                x,
                [
                    m.n_opt * math.exp(-1.96 * m.sigma_log_n),
                    m.n_opt * math.exp(1.96 * m.sigma_log_n),
                ],
            )
            np.testing.assert_allclose(y, [m.loss_opt, m.loss_opt])


def test_isoflop_profiles_bottom_out_at_the_stars(sweep, fits):
    """The drawn profile of each budget (the fit's spline) has its minimum at the star."""
    fig = plots.isoflop_curves(sweep, fits)
    for dt, ax in _axes_by_type(fig, sweep).items():
        curves = [ln for ln in ax.get_lines() if len(ln.get_xdata()) == 100]
        assert len(curves) == len(BUDGETS)
        for curve, m in zip(curves, fits[dt]["isoflop"].minima, strict=True):
            x, y = _xy(curve)
            i = int(np.argmin(y))
            assert 0 < i < len(y) - 1  # an interior minimum, as the fit found
            assert abs(math.log(x[i] / m.n_opt)) < 0.05
            assert y[i] == pytest.approx(m.loss_opt, rel=1e-3)


def test_isoflop_title_gives_the_exponents_with_intervals(sweep, fits):
    fig = plots.isoflop_curves(sweep, fits)
    for dt, ax in _axes_by_type(fig, sweep).items():
        iso = fits[dt]["isoflop"]
        title = ax.get_title()
        lo, hi = iso.n_opt_law.interval
        assert f"N_opt ∝ C^{iso.a:.2f} [{lo:.2f}, {hi:.2f}]" in title
        lo, hi = iso.d_opt_law.interval
        assert f"D_opt ∝ C^{iso.b:.2f} [{lo:.2f}, {hi:.2f}]" in title
        lo_a, hi_a = _interval(title.split("N_opt ∝ C^")[1], iso.a)
        assert lo_a < TRUE[dt].a < hi_a  # the printed interval covers the true exponent
        assert "rejected" not in title


def test_isoflop_title_says_rejected_for_a_law_failing_the_gates(sweep, fits):
    fig = plots.isoflop_curves(sweep, _reject_iso(fits, "web"))
    axes = _axes_by_type(fig, sweep)
    web_title = axes["web"].get_title()
    assert "exponents rejected by the validity gates (see verdict.md)" in web_title
    assert "N_opt ∝ C^" not in web_title and not INTERVAL.search(web_title)
    assert "N_opt ∝ C^" in axes["code"].get_title()  # the other panel keeps its law
    assert len(_lines(axes["web"], marker="*")) == len(BUDGETS)  # the minima are still data


def test_isoflop_curves_of_an_unfitted_law_show_the_runs_only(sweep, fits):
    broken = {**fits, "web": {**fits["web"], "isoflop": {"error": "isoflop: needs 2 budgets"}}}
    fig = plots.isoflop_curves(sweep, broken)
    ax = _axes_by_type(fig, sweep)["web"]
    assert _lines(ax, marker="*") == []
    assert "exponents rejected by the validity gates" in ax.get_title()
    n_points = sum(len(ln.get_xdata()) for ln in _lines(ax, marker="o"))
    assert n_points == int((sweep.data_type == "web").sum())


def test_an_unbracketed_minimum_is_drawn_hollow(sweep, fits):
    iso = fits["web"]["isoflop"]
    first = replace(iso.minima[0], interior=False, used=False)
    edged = {
        **fits,
        "web": {**fits["web"], "isoflop": replace(iso, minima=(first, *iso.minima[1:]))},
    }
    ax = _axes_by_type(plots.isoflop_curves(sweep, edged), sweep)["web"]
    faces = [to_rgba(s.get_markerfacecolor()) for s in _lines(ax, marker="*")]
    assert faces[0] == to_rgba("white")
    assert all(f != to_rgba("white") for f in faces[1:])


# --------------------------------------------------------------------------- loss vs compute


def test_loss_vs_compute_marks_the_minima_and_the_parametric_frontier(sweep, fits):
    fig = plots.loss_vs_compute(sweep, fits)
    for dt, ax in _axes_by_type(fig, sweep).items():
        g = sweep[sweep.data_type == dt]
        iso, par = fits[dt]["isoflop"], fits[dt]["chinchilla"]
        assert ax.get_xscale() == "log"
        assert len(_lines(ax, marker="o")) == g.params.nunique()  # one line per model size
        (minima,) = _lines(ax, label="isoFLOP minima")
        x, y = _xy(minima)
        np.testing.assert_allclose(x, [m.flops for m in iso.minima])
        np.testing.assert_allclose(y, [m.loss_opt for m in iso.minima])
        (frontier,) = _lines(ax, label="parametric frontier")
        label = frontier.get_label()
        lo, hi = par.intervals["E"]
        assert f"E={par.E:.2f} [{lo:.2f}, {hi:.2f}]" in label
        lo, hi = _interval(label, par.E)
        assert lo <= round(par.E, 2) <= hi
        assert abs(par.E / TRUE[dt].E - 1) < 0.03  # the frontier of a law close to the truth
        fx, fy = _xy(frontier)
        assert fx.min() < g.flops.min() and fx.max() > g.flops.max()  # spans the sweep
        assert np.all(np.diff(fy) < 0)  # more compute, lower optimal loss
        for c, gc in g.groupby("budget_flops"):
            at = float(np.interp(math.log(c), np.log(fx), fy))
            assert at == pytest.approx(gc.loss.min(), rel=0.01)  # the frontier meets the runs
            assert at <= gc.loss.max()
        assert not ax.texts


def test_loss_vs_compute_says_a_rejected_parametric_law_is_not_drawn(sweep, fits):
    fig = plots.loss_vs_compute(sweep, _reject_par(fits, "code"))
    axes = _axes_by_type(fig, sweep)
    assert _lines(axes["code"], label="parametric frontier") == []
    title = axes["code"].get_title()
    assert title.splitlines()[-1] == "(parametric law rejected by the validity gates: not drawn)"
    assert not axes["code"].texts  # said in the title, clear of the data
    assert len(_lines(axes["web"], label="parametric frontier")) == 1
    assert "rejected" not in axes["web"].get_title()


def test_loss_vs_compute_without_any_fit_draws_only_the_runs(sweep):
    fig = plots.loss_vs_compute(sweep, {})
    for dt, ax in _axes_by_type(fig, sweep).items():
        assert _lines(ax, label="isoFLOP minima") == []
        assert _lines(ax, label="parametric frontier") == []
        n = sum(len(ln.get_xdata()) for ln in _lines(ax, marker="o"))
        assert n == int((sweep.data_type == dt).sum())


# --------------------------------------------------------------------------- optimal allocation


def _slope(line) -> float:
    x, y = _xy(line)
    return float(np.polyfit(np.log(x), np.log(y), 1)[0])


def test_optimal_allocation_plots_minima_and_both_laws_on_log_axes(sweep, fits):
    fig = plots.optimal_allocation(sweep, fits)
    assert len(fig.axes) == 2
    ax_n, ax_d = fig.axes
    for ax in (ax_n, ax_d):
        assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert "laws drawn only where they pass the validity gates" in ax_n.get_title()
    for dt in ("code", "web"):
        iso, par = fits[dt]["isoflop"], fits[dt]["chinchilla"]
        for ax, attr, law, key in (
            (ax_n, "n_opt", iso.n_opt_law, "a"),
            (ax_d, "d_opt", iso.d_opt_law, "b"),
        ):
            (pts,) = _lines(ax, label=f"{dt}: isoFLOP minima")
            x, y = _xy(pts)
            np.testing.assert_allclose(x, [m.flops for m in iso.minima])
            np.testing.assert_allclose(y, [getattr(m, attr) for m in iso.minima])
            (fit_line,) = _lines(ax, label=f"{dt}: isoFLOP, exponent")
            lo, hi = law.interval
            assert f"exponent {law.exponent:.2f} [{lo:.2f}, {hi:.2f}]" in fit_line.get_label()
            assert _slope(fit_line) == pytest.approx(law.exponent, abs=1e-9)
            fx, fy = _xy(fit_line)
            np.testing.assert_allclose(fy, law.predict(fx))
            (par_line,) = _lines(ax, label=f"{dt}: parametric, exponent")
            assert par_line.get_linestyle() == "--"
            lo, hi = par.intervals[key]
            value = getattr(par, key)
            assert f"exponent {value:.2f} [{lo:.2f}, {hi:.2f}]" in par_line.get_label()
            # under C = 6ND the numerical optimum is the closed form N_opt ∝ C^a (D_opt ∝ C^b)
            assert _slope(par_line) == pytest.approx(value, abs=2e-3)
            assert abs(value - getattr(TRUE[dt], key)) < 0.02


def test_optimal_allocation_leaves_out_a_rejected_isoflop_law_but_keeps_its_minima(sweep, fits):
    fig = plots.optimal_allocation(sweep, _reject_iso(fits, "web"))
    for ax in fig.axes:
        assert _lines(ax, label="web: isoFLOP, exponent") == []
        assert len(_lines(ax, label="web: isoFLOP minima")) == 1
        assert len(_lines(ax, label="code: isoFLOP, exponent")) == 1
        assert len(_lines(ax, label="web: parametric, exponent")) == 1


def test_optimal_allocation_leaves_out_a_rejected_parametric_law(sweep, fits):
    fig = plots.optimal_allocation(sweep, _reject_par(fits, "code"))
    for ax in fig.axes:
        assert _lines(ax, label="code: parametric") == []
        assert len(_lines(ax, label="web: parametric")) == 1


def test_optimal_allocation_draws_unbracketed_minima_hollow_and_apart(sweep, fits):
    iso = fits["web"]["isoflop"]
    first = replace(iso.minima[0], interior=False, used=False)
    edged = {
        **fits,
        "web": {**fits["web"], "isoflop": replace(iso, minima=(first, *iso.minima[1:]))},
    }
    ax_n = plots.optimal_allocation(sweep, edged).axes[0]
    (inner,) = _lines(ax_n, label="web: isoFLOP minima")
    np.testing.assert_allclose(_xy(inner)[0], [m.flops for m in iso.minima[1:]])
    hollow = [
        ln
        for ln in _lines(ax_n, marker="o")
        if to_rgba(ln.get_markerfacecolor()) == to_rgba("white") and len(ln.get_xdata())
    ]
    assert len(hollow) == 1
    np.testing.assert_allclose(_xy(hollow[0]), [[first.flops], [first.n_opt]])


# --------------------------------------------------------------------------- accuracy


def test_accuracy_figure_is_none_without_accuracy_columns(sweep, fits):
    assert plots.accuracy_vs_compute(sweep.drop(columns=["acc_arith"]), fits) is None


def test_accuracy_vs_compute_scatters_every_run_and_the_fitted_sigmoid(sweep, fits):
    fig = plots.accuracy_vs_compute(sweep, fits)
    assert fig is not None and len(fig.axes) == 1
    (ax,) = fig.axes
    assert ax.get_xscale() == "log"
    assert ax.get_ylim() == pytest.approx((-0.03, 1.03))
    assert "task 'arith'" in ax.get_title()
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["code", "web"]
    scatters = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert len(scatters) == 2
    sigmoids = _lines(ax, style=":")
    best = _lines(ax, style="-")
    assert len(sigmoids) == 2 and len(best) == 2
    for k, dt in enumerate(("code", "web")):
        g = sweep[sweep.data_type == dt]
        np.testing.assert_allclose(
            scatters[k].get_offsets(), g[["flops", "acc_arith"]].to_numpy(float)
        )
        top = g.groupby("budget_flops").acc_arith.max()
        np.testing.assert_allclose(
            np.column_stack(_xy(best[k])), np.column_stack([top.index, top.values])
        )
        sig = fits[dt]["accuracy/arith"]
        x, y = _xy(sigmoids[k])
        np.testing.assert_allclose(y, sig.predict(x))
        assert np.all(np.diff(y) > 0)  # accuracy rises with compute, as the data do


def test_accuracy_figure_skips_the_sigmoid_of_an_unfitted_task(sweep, fits):
    broken = {**fits, "web": {**fits["web"], "accuracy/arith": {"error": "too few points"}}}
    (ax,) = plots.accuracy_vs_compute(sweep, broken).axes
    assert len(_lines(ax, style=":")) == 1  # code's only
    assert len([c for c in ax.collections if isinstance(c, PathCollection)]) == 2


# --------------------------------------------------------------------------- learning curves


def _curves() -> pd.DataFrame:
    rows = []
    for run_id, params, scale in (("a", 2e6, 1.0), ("b", 2e7, 0.8), ("c", 2e6, 0.9)):
        for step in range(1, 13):
            rows.append(
                {
                    "kind": "train",
                    "run_id": run_id,
                    "data_type": "web",
                    "params": params,
                    "tokens": 1000.0 * step,
                    "loss": scale * (3 + 5 / step) + 0.05 * (step % 2),
                }
            )
        rows.append(
            {"kind": "eval", "run_id": run_id, "data_type": "web", "params": params, "tokens": 12e3}
        )
    return pd.DataFrame(rows)


@pytest.mark.parametrize(
    "curves",
    [None, pd.DataFrame(), pd.DataFrame({"run_id": ["a"], "loss": [1.0]})],
    ids=["none", "empty", "no-kind"],
)
def test_learning_curves_need_train_records(curves):
    assert plots.learning_curves(curves) is None


def test_learning_curves_draw_the_smoothed_train_loss_of_every_run():
    curves = _curves()
    fig = plots.learning_curves(curves)
    assert len(fig.axes) == 1
    (ax,) = fig.axes
    assert ax.get_xscale() == "log" and ax.get_title() == "web: learning curves"
    drawn = [ln for ln in ax.get_lines() if len(ln.get_xdata())]
    assert len(drawn) == 3  # one per run; the eval rows are not drawn
    train = curves[curves.kind == "train"]
    for ln, (_, gr) in zip(drawn, train.groupby("run_id"), strict=True):
        x, y = _xy(ln)
        np.testing.assert_allclose(x, gr.tokens)
        np.testing.assert_allclose(y, gr.loss.rolling(5, min_periods=1).mean())
    legend = ax.get_legend()
    assert legend.get_title().get_text() == "params"
    assert [t.get_text() for t in legend.get_texts()] == ["2M", "20M"]
    # runs of one size share its colour
    assert to_rgba(drawn[0].get_color()) == to_rgba(drawn[2].get_color())
    assert to_rgba(drawn[0].get_color()) != to_rgba(drawn[1].get_color())


# --------------------------------------------------------------------------- save_all


def test_save_all_writes_png_and_pdf_with_the_source_footer(sweep, fits, tmp_path, monkeypatch):
    footed = {}
    original = plots._footer

    def spy(fig, source, df):
        original(fig, source, df)
        footed[id(fig)] = fig

    monkeypatch.setattr(plots, "_footer", spy)
    out = tmp_path / "figures"
    written = plots.save_all(sweep, fits, out, source="runs/synthetic", curves=_curves())
    names = ["isoflop", "loss_vs_compute", "optimal_allocation", "accuracy", "learning_curves"]
    assert written == [out / f"{n}.png" for n in names]
    for n in names:
        assert (out / f"{n}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert (out / f"{n}.pdf").read_bytes()[:5] == b"%PDF-"
    assert sorted(p.name for p in out.iterdir()) == sorted(
        f"{n}.{ext}" for n in names for ext in ("png", "pdf")
    )
    footer = f"source: runs/synthetic · {len(sweep)} runs · FLOPs: 6N_total"
    assert len(footed) == len(names)
    for fig in footed.values():
        assert footer in [t.get_text() for t in fig.texts]
    assert plt.get_fignums() == []  # every figure closed after writing


def test_save_all_skips_figures_the_data_cannot_support(sweep, fits, tmp_path):
    out = tmp_path / "figs"
    written = plots.save_all(sweep.drop(columns=["acc_arith"]), fits, out, source="s")
    assert [p.name for p in written] == [
        "isoflop.png",
        "loss_vs_compute.png",
        "optimal_allocation.png",
    ]
    assert not (out / "accuracy.png").exists() and not (out / "learning_curves.pdf").exists()


def test_footer_names_every_flop_convention_and_the_run_count(sweep):
    fig = plt.figure()
    mixed = sweep.assign(flops_convention=np.where(sweep.data_type == "web", "6N_total", "6N_attn"))
    plots._footer(fig, "runs/x", mixed)
    assert [t.get_text() for t in fig.texts] == [
        f"source: runs/x · {len(sweep)} runs · FLOPs: 6N_attn, 6N_total"
    ]


def test_loss_vs_lr_stars_each_sizes_best_and_hollows_an_unbracketed_one():
    rows = []
    for dt in ("web", "frontier"):
        for model, n, best in (("xs", 13152, 6e-3), ("m", 67872, 3e-3)):
            for lr in (3e-3, 6e-3, 1.2e-2):
                loss = 1.0 + (math.log(lr / best)) ** 2 + (0.1 if model == "m" else 0.0)
                rows.append(
                    {"data_type": dt, "model": model, "params": n, "peak_lr": lr, "loss": loss}
                )
    df = pd.DataFrame(rows)
    fig = plots.loss_vs_lr(df)
    assert len([a for a in fig.axes if a.get_title()]) == 2
    ax = fig.axes[0]
    stars = [ln for ln in ax.get_lines() if ln.get_marker() == "*"]
    assert [float(s.get_xdata()[0]) for s in stars] == [6e-3, 3e-3]
    filled = [s.get_markerfacecolor() for s in stars]
    assert filled[0] != "none" and filled[1] == "none"  # m's best is the scan's lowest LR
    assert plots.loss_vs_lr(df[df.peak_lr == 6e-3]) is None
