"""Figures checked for what a reader sees: no legend covers a data point, and a panel with
nothing to draw says so instead of showing bare default axes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from scaling.analysis import plots
from scaling.analysis.pipeline import fit_sweep
from scaling.fit import ChinchillaLaw
from tests.helpers import chinchilla_sweep

LAW = ChinchillaLaw(E=1.8172, A=482.01, B=2085.43, alpha=0.3478, beta=0.3658)


@pytest.fixture(scope="module")
def sweep() -> tuple[pd.DataFrame, dict]:
    frames = [chinchilla_sweep(LAW, dt, rng_seed=k) for k, dt in enumerate(("code", "web"))]
    df = pd.concat(frames, ignore_index=True)
    df["acc_arith"] = np.linspace(0.0, 0.9, len(df))
    return df, fit_sweep(df, bootstrap=10, seed=0)


def _points_display(ax) -> np.ndarray:
    pts = [ln.get_xydata() for ln in ax.get_lines() if len(ln.get_xydata())]
    pts += [c.get_offsets() for c in ax.collections if len(c.get_offsets())]
    xy = np.concatenate([np.asarray(p, float) for p in pts])
    return ax.transData.transform(xy[np.isfinite(xy).all(axis=1)])


@pytest.mark.parametrize("name", ["isoflop", "loss_vs_compute", "optimal_allocation", "accuracy"])
def test_no_legend_covers_a_point(sweep, name):
    df, fits = sweep
    fig = plots.FIGURES[name](df, fits)
    fig.canvas.draw()
    legends = [ax for ax in fig.axes if ax.get_legend() is not None]
    assert legends, f"{name}: no legend drawn"
    for ax in legends:
        box = ax.get_legend().get_window_extent()
        inside = [box.contains(x, y) for x, y in _points_display(ax)]
        assert not any(inside), f"{name}: the legend covers {sum(inside)} point(s)"


def test_an_empty_allocation_panel_says_why(sweep):
    df, _ = sweep
    fig = plots.optimal_allocation(df, {})
    for ax in fig.axes:
        assert [t.get_text().startswith("nothing to draw") for t in ax.texts] == [True]
        assert list(ax.get_xticks()) == [] and list(ax.get_yticks()) == []


def _curves(decades: float) -> pd.DataFrame:
    """Two data types' training curves from 500 tokens over ``decades`` decades."""
    tokens = 500.0 * np.logspace(0, decades, 60)
    rows = [
        {
            "kind": "train",
            "run_id": f"{dt}-{n:g}",
            "data_type": dt,
            "params": n,
            "tokens": t,
            "loss": 2 + 30 / t**0.3,
        }
        for dt in ("frontier", "web")
        for n in (3e3, 3e4)
        for t in tokens
    ]
    return pd.DataFrame(rows)


def _overlapping_tick_labels(fig) -> list[tuple[str, str]]:
    fig.canvas.draw()
    out = []
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            labels = [t for t in axis.get_ticklabels(which="both") if t.get_visible()]
            labels = [t for t in labels if t.get_text()]
            boxes = [(t.get_text(), t.get_window_extent()) for t in labels]
            for i, (a, ba) in enumerate(boxes):
                out += [(a, b) for b, bb in boxes[i + 1 :] if ba.overlaps(bb)]
    return out


@pytest.mark.parametrize("decades", [0.6, 1.0, 2.0, 4.5])
def test_log_tick_labels_never_overlap(decades):
    fig = plots.learning_curves(_curves(decades))
    assert _overlapping_tick_labels(fig) == []


def test_figures_of_a_sweep_have_no_overlapping_tick_labels(sweep):
    df, fits = sweep
    for name, fn in plots.FIGURES.items():
        fig = fn(df, fits)
        assert _overlapping_tick_labels(fig) == [], name
