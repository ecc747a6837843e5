"""Figures over (results frame, fits). No torch and no pyplot: each figure is a matplotlib
``Figure`` built with the object API, so importing this module or drawing a figure never sets or
switches the caller's backend (a notebook's inline plots keep working), and a returned figure
displays in Jupyter by itself.

Every figure function takes the tidy frame of ``scaling.analysis.results.load`` and the fits of
``analysis.pipeline.fit_sweep`` and returns a matplotlib Figure; ``save_all`` writes each as PNG
and PDF with a footer naming its source data (sweep path, number of runs, FLOP convention).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from scaling.analysis.gates import isoflop_gate, parametric_gate
from scaling.analysis.plot_style import (
    DATA_COLORS,
    STYLE,
    _budget_colors,
    _fmt_flops,
    _fmt_params,
    _footer,
    _iv_text,
    _log_ticks,
    _ok,
    _panels,
    colormap,
    legend_outside,
    nothing_drawn,
)
from scaling.core.validate import output_directory
from scaling.fit.allocation import compute_optimal, flop_model, frontier_loss


def _profile_curve(method: str, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The fitted profile of one budget for display, drawn with the method the fit used:
    Akima spline of log loss (Porian et al. 2024) for "spline", else a parabola in log N."""
    ux = np.unique(x)
    xs = np.linspace(ux.min(), ux.max(), 100)
    if method == "spline" and len(ux) >= 3:
        from scipy.interpolate import Akima1DInterpolator

        uy = np.array([np.log(y[x == u]).mean() for u in ux])
        return xs, np.exp(Akima1DInterpolator(ux, uy)(xs))
    coef = np.polyfit(x, y, 2)
    return xs, np.polyval(coef, xs)


def isoflop_curves(df: pd.DataFrame, fits: dict[str, dict[str, Any]]) -> Figure:
    """Loss against model size at each budget, with each budget's parabola and minimum
    (Hoffmann et al. 2022, Fig. 3 left)."""
    types = sorted(df.data_type.unique())
    with matplotlib.rc_context(STYLE):
        fig, axes = _panels(len(types))
        for ax, dt in zip(axes, types, strict=True):
            g = df[df.data_type == dt]
            budgets = sorted(g.budget_flops.unique())
            colors = _budget_colors(budgets)
            iso = fits.get(dt, {}).get("isoflop")
            minima = {m.flops: m for m in iso.minima} if _ok(iso) else {}
            for b in budgets:
                gb = g[g.budget_flops == b].sort_values("params")
                ax.plot(gb.params, gb.loss, "o", color=colors[b], ms=5, label=f"C={_fmt_flops(b)}")
                if gb.params.nunique() >= 3:
                    x = np.log(gb.params.to_numpy(float))
                    method = iso.method if _ok(iso) else "quadratic"
                    xs, ys = _profile_curve(method, x, gb.loss.to_numpy(float))
                    ax.plot(np.exp(xs), ys, "-", color=colors[b], lw=1.2, alpha=0.8)
                m = minima.get(b)
                sig = getattr(m, "sigma_log_n", float("nan")) if m is not None else float("nan")
                if m is not None and math.isfinite(m.n_opt) and math.isfinite(sig):
                    lo, hi = m.n_opt * math.exp(-1.96 * sig), m.n_opt * math.exp(1.96 * sig)
                    ax.plot([lo, hi], [m.loss_opt] * 2, "-", color=colors[b], lw=2.5, alpha=0.45)
                if m is not None and math.isfinite(m.n_opt):
                    ax.plot(
                        m.n_opt,
                        m.loss_opt,
                        "*",
                        ms=13,
                        color=colors[b],
                        mfc=colors[b] if m.interior else "white",
                        mec="black",
                        mew=0.7,
                        zorder=5,
                    )
            ax.set_xscale("log")
            ax.set_xlabel("parameters N")
            ax.set_ylabel(f"held-out loss on '{g.loss_domain.iloc[0]}'\n(nats/token)")
            title = (
                f"{dt}: isoFLOP curves\n(bars: N_opt ± 1.96 bootstrap sd; hollow: not bracketed)"
            )
            gate = isoflop_gate(iso)
            if gate.usable:
                title += (
                    f"\nN_opt ∝ C^{_iv_text(iso.a, iso.n_opt_law.interval)}, "
                    f"D_opt ∝ C^{_iv_text(iso.b, iso.d_opt_law.interval)} (95%)"
                )
            else:
                title += "\nexponents rejected by the validity gates (see verdict.md)"
            ax.set_title(title)
            legend_outside(ax)
        for a in fig.axes:
            _log_ticks(a)
        fig.tight_layout(rect=(0, 0.03, 1, 1))
    return fig


REJECTED_PARAMETRIC = "(parametric law rejected by the validity gates: not drawn)"


def _loss_panel(ax: Any, g: pd.DataFrame, dt: str, fits: dict[str, Any], cmap: Any) -> None:
    """One data type: loss against FLOPs per size, isoFLOP minima, the parametric frontier."""
    sizes = sorted(g.params.unique())
    for i, n in enumerate(sizes):
        gn = g[g.params == n].sort_values("flops")
        color = cmap(0.1 + 0.75 * i / max(1, len(sizes) - 1))
        label = f"{gn.model.iloc[0]} ({_fmt_params(n)})"
        ax.plot(gn.flops, gn.loss, "o-", color=color, ms=4, lw=1, label=label)
    iso = fits.get("isoflop")
    if _ok(iso):
        ms = [m for m in iso.minima if math.isfinite(m.loss_opt)]
        ax.plot(
            [m.flops for m in ms], [m.loss_opt for m in ms], "k*", ms=10, label="isoFLOP minima"
        )
    par = fits.get("chinchilla")
    if parametric_gate(par).usable:
        fm = flop_model(g)
        cs = np.geomspace(g.flops.min() / 2, g.flops.max() * 2, 40)
        ax.plot(
            cs,
            [frontier_loss(par, c, fm) for c in cs],
            "k--",
            lw=1,
            label=f"parametric frontier, E={_iv_text(par.E, par.intervals.get('E'))}",
        )
    title = f"{dt}: loss against compute"
    if _ok(par) and not parametric_gate(par).usable:  # said above the axes, clear of the data
        title += f"\n{REJECTED_PARAMETRIC}"
    ax.set_xscale("log")
    ax.set_xlabel("training FLOPs C")
    ax.set_ylabel(f"held-out loss on '{g.loss_domain.iloc[0]}'")
    ax.set_title(title)
    legend_outside(ax)


def loss_vs_compute(df: pd.DataFrame, fits: dict[str, dict[str, Any]]) -> Figure:
    """Loss against training FLOPs per model size, the isoFLOP minima and the compute-optimal
    frontier of the parametric law (Hoffmann et al. 2022, Fig. 2/4 style)."""
    types = sorted(df.data_type.unique())
    with matplotlib.rc_context(STYLE):
        fig, axes = _panels(len(types))
        cmap = colormap("plasma")
        for ax, dt in zip(axes, types, strict=True):
            _loss_panel(ax, df[df.data_type == dt], dt, fits.get(dt, {}), cmap)
        for a in fig.axes:
            _log_ticks(a)
        fig.tight_layout(rect=(0, 0.03, 1, 1))
    return fig


def _allocation_lines(
    ax: Any, attr: str, dt: str, color: Any, fits: dict[str, Any], g: pd.DataFrame, cs: np.ndarray
) -> None:
    """One data type's ``attr`` (n_opt or d_opt): isoFLOP minima (hollow where not bracketed),
    their power law and the parametric closed form, each law only where it passes the gates."""
    iso, par = fits.get("isoflop"), fits.get("chinchilla")
    if _ok(iso):
        inner = [m for m in iso.minima if m.interior]
        outer = [m for m in iso.minima if not m.interior and math.isfinite(m.n_opt)]
        xs, ys = [m.flops for m in inner], [getattr(m, attr) for m in inner]
        ax.plot(xs, ys, "o", color=color, ms=6, label=f"{dt}: isoFLOP minima")
        xs, ys = [m.flops for m in outer], [getattr(m, attr) for m in outer]
        ax.plot(xs, ys, "o", color=color, mfc="white", ms=6)
        law = getattr(iso, f"{attr}_law")
        if isoflop_gate(iso).usable:
            label = f"{dt}: isoFLOP, exponent {_iv_text(law.exponent, law.interval)}"
            ax.plot(cs, law.predict(cs), "-", color=color, lw=1.3, label=label)
    if parametric_gate(par).usable:
        fm = flop_model(g)
        opt = [compute_optimal(par, c, fm) for c in cs]
        key = "a" if attr == "n_opt" else "b"
        label = f"{dt}: parametric, exponent {_iv_text(getattr(par, key), par.intervals.get(key))}"
        ax.plot(cs, [getattr(o, attr) for o in opt], "--", color=color, lw=1, label=label)


def optimal_allocation(df: pd.DataFrame, fits: dict[str, dict[str, Any]]) -> Figure:
    """N_opt and D_opt against compute for each data type: isoFLOP minima with their power-law
    fits (solid) and the parametric law's closed form (dashed, Hoffmann et al. 2022 eq. 4)."""
    types = sorted(df.data_type.unique())
    with matplotlib.rc_context(STYLE):
        fig, (ax_n, ax_d) = _panels(2)
        cs = np.geomspace(df.budget_flops.min() / 3, df.budget_flops.max() * 3, 60)
        for k, dt in enumerate(types):
            color = DATA_COLORS[k % len(DATA_COLORS)]
            g = df[df.data_type == dt]
            for ax, attr in ((ax_n, "n_opt"), (ax_d, "d_opt")):
                _allocation_lines(ax, attr, dt, color, fits.get(dt, {}), g, cs)
        for ax, name in (
            (ax_n, "compute-optimal parameters N_opt"),
            (ax_d, "compute-optimal tokens D_opt"),
        ):
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel("training FLOPs C")
            ax.set_ylabel(name)
            if ax.get_legend_handles_labels()[0]:
                legend_outside(ax)
            else:
                nothing_drawn(
                    ax,
                    "nothing to draw:\nno isoFLOP minimum is bracketed\nand no law passes "
                    "the validity gates\n(verdict.md says what would help)",
                )
        ax_n.set_title(
            "Optimal model size (hollow: minimum not bracketed)\n"
            "laws drawn only where they pass the validity gates"
        )
        ax_d.set_title("Optimal training tokens")
        for a in fig.axes:
            _log_ticks(a)
        fig.tight_layout(rect=(0, 0.03, 1, 1))
    return fig


def accuracy_vs_compute(df: pd.DataFrame, fits: dict[str, dict[str, Any]]) -> Figure | None:
    """Exact-match task accuracy against compute, per data type and model size."""
    from scaling.analysis.results import accuracy_columns

    cols = accuracy_columns(df)
    if not cols:
        return None
    with matplotlib.rc_context(STYLE):
        fig, axes = _panels(len(cols))
        for ax, col in zip(axes, cols, strict=True):
            for k, dt in enumerate(sorted(df.data_type.unique())):
                g = df[df.data_type == dt]
                color = DATA_COLORS[k % len(DATA_COLORS)]
                ax.scatter(
                    g.flops,
                    g[col],
                    s=14 + 30 * np.log10(g.params / g.params.min() + 1),
                    color=color,
                    alpha=0.75,
                    label=dt,
                )
                best = g.groupby("budget_flops")[col].max()
                ax.plot(best.index, best.values, "-", color=color, lw=1)
                sig = fits.get(dt, {}).get(f"accuracy/{col[4:]}")
                if _ok(sig):
                    cs = np.geomspace(g.flops.min(), g.flops.max(), 60)
                    ax.plot(cs, sig.predict(cs), ":", color=color, lw=1.2)
            ax.set_xscale("log")
            ax.set_ylim(-0.03, 1.03)
            ax.set_xlabel("training FLOPs C")
            ax.set_ylabel("exact-match accuracy (held-out problems)")
            ax.set_title(f"task '{col[4:]}': accuracy against compute\n(marker size: model size)")
            legend_outside(ax)
        for a in fig.axes:
            _log_ticks(a)
        fig.tight_layout(rect=(0, 0.03, 1, 1))
    return fig


def learning_curves(curves: pd.DataFrame) -> Figure | None:
    """Training loss against tokens for every run, one panel per data type."""
    if curves is None or curves.empty or "kind" not in curves:
        return None
    train = curves[curves.kind == "train"]
    types = sorted(train.data_type.dropna().unique())
    if not types:
        return None
    with matplotlib.rc_context(STYLE):
        fig, axes = _panels(len(types))
        cmap = colormap("plasma")
        for ax, dt in zip(axes, types, strict=True):
            g = train[train.data_type == dt]
            sizes = sorted(g.params.unique())
            for _run_id, gr in g.groupby("run_id"):
                i = sizes.index(gr.params.iloc[0])
                ax.plot(
                    gr.tokens,
                    gr.loss.rolling(5, min_periods=1).mean(),
                    lw=0.8,
                    alpha=0.7,
                    color=cmap(0.1 + 0.75 * i / max(1, len(sizes) - 1)),
                )
            for i, n in enumerate(sizes):
                ax.plot(
                    [],
                    [],
                    color=cmap(0.1 + 0.75 * i / max(1, len(sizes) - 1)),
                    label=_fmt_params(n),
                )
            ax.set_xscale("log")
            ax.set_xlabel("training tokens")
            ax.set_ylabel("training loss (5-point mean)")
            ax.set_title(f"{dt}: learning curves")
            legend_outside(ax, title="params")
        for a in fig.axes:
            _log_ticks(a)
        fig.tight_layout(rect=(0, 0.03, 1, 1))
    return fig


FIGURES = {
    "isoflop": isoflop_curves,
    "loss_vs_compute": loss_vs_compute,
    "optimal_allocation": optimal_allocation,
    "accuracy": accuracy_vs_compute,
}


def save_all(
    df: pd.DataFrame,
    fits: dict[str, dict[str, Any]],
    out_dir: str | Path,
    *,
    source: str,
    curves: pd.DataFrame | None = None,
) -> list[Path]:
    """Write every figure the data supports as PNG and PDF; returns the PNG paths."""
    out = Path(out_dir)
    output_directory(out, "the figures (scaling plot --out DIR)")
    out.mkdir(parents=True, exist_ok=True)
    made = {name: fn(df, fits) for name, fn in FIGURES.items()}
    made["learning_curves"] = learning_curves(curves) if curves is not None else None
    written = []
    for name, fig in made.items():
        if fig is None:
            continue
        _footer(fig, source, df)
        for ext in ("png", "pdf"):
            fig.savefig(out / f"{name}.{ext}", bbox_inches="tight")
        written.append(out / f"{name}.png")
    return written


def loss_vs_lr(df: pd.DataFrame) -> Figure | None:
    """Held-out loss against peak learning rate, one line per model size and one panel per data
    type, each size's best LR starred (hollow when it sits at the scan's edge: not bracketed,
    Porian et al. 2024, Sec. 4)."""
    if "peak_lr" not in df or df.peak_lr.nunique() < 2:
        return None
    types = sorted(df.data_type.unique())
    with matplotlib.rc_context(STYLE):
        fig, axes = _panels(len(types))
        cmap = colormap("viridis")
        for ax, dt in zip(axes, types, strict=True):
            g = df[df.data_type == dt]
            sizes = sorted(g.params.unique())
            for k, n in enumerate(sizes):
                c = g[g.params == n].groupby("peak_lr").loss.mean().sort_index()
                color = cmap(k / max(1, len(sizes) - 1))
                label = f"{g[g.params == n].model.iloc[0]} ({_fmt_params(n)})"
                ax.plot(c.index, c.values, "o-", color=color, ms=3, lw=1, label=label)
                best = c.idxmin()
                inside = c.index.min() < best < c.index.max()
                face = color if inside else "none"
                ax.plot([best], [c[best]], "*", ms=11, mfc=face, mec=color)
            ax.set_xscale("log")
            ax.set_xlabel("peak learning rate")
            ax.set_ylabel("held-out loss (nats/token)")
            ax.set_title(f"{dt}: loss against LR\n(star: best; hollow: at the scan's edge)")
            legend_outside(ax)
            _log_ticks(ax)
        fig.tight_layout()
    return fig
