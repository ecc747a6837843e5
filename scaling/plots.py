"""Figures over (results frame, fits). No torch; matplotlib with the Agg backend.

Every figure function takes the tidy frame of ``scaling.results.load`` and the fits of
``scaling.analysis.fit_sweep`` and returns a matplotlib Figure; ``save_all`` writes each as PNG
and PDF with a footer naming its source data (sweep path, number of runs, FLOP convention).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

STYLE = {
    "figure.dpi": 110,
    "savefig.dpi": 160,
    "font.size": 9.5,
    "axes.titlesize": 10.5,
    "axes.labelsize": 9.5,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.25,
    "grid.linewidth": 0.6,
    "legend.frameon": False,
    "legend.fontsize": 8,
}
DATA_COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]


def _fmt_flops(c: float) -> str:
    exp = math.floor(math.log10(c))
    mant = c / 10**exp
    return f"{mant:.0f}e{exp}" if abs(mant - round(mant)) < 0.05 else f"{mant:.1f}e{exp}"


def _fmt_params(n: float) -> str:
    for unit, div in (("M", 1e6), ("k", 1e3)):
        if n >= div:
            return f"{n / div:.3g}{unit}"
    return f"{n:.0f}"


def _ok(fit: Any) -> bool:
    return fit is not None and not isinstance(fit, dict)


def _footer(fig: Figure, source: str, df: pd.DataFrame) -> None:
    conv = ", ".join(sorted(df.flops_convention.unique())) if "flops_convention" in df else "?"
    fig.text(
        0.01,
        0.005,
        f"source: {source} · {len(df)} runs · FLOPs: {conv}",
        fontsize=7,
        color="0.45",
        ha="left",
        va="bottom",
    )


def _budget_colors(budgets: list[float]) -> dict[float, Any]:
    cmap = plt.get_cmap("viridis")
    if len(budgets) == 1:
        return {budgets[0]: cmap(0.4)}
    lo, hi = math.log(min(budgets)), math.log(max(budgets))
    return {b: cmap(0.1 + 0.75 * (math.log(b) - lo) / (hi - lo)) for b in budgets}


def _panels(n: int, width: float = 4.6, height: float = 3.6) -> tuple[Figure, list[Any]]:
    fig, axes = plt.subplots(1, n, figsize=(width * n, height), squeeze=False)
    return fig, list(axes[0])


def isoflop_curves(df: pd.DataFrame, fits: dict[str, dict[str, Any]]) -> Figure:
    """Loss against model size at each budget, with each budget's parabola and minimum
    (Hoffmann et al. 2022, Fig. 3 left)."""
    types = sorted(df.data_type.unique())
    with plt.rc_context(STYLE):
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
                    coef = np.polyfit(x, gb.loss.to_numpy(float), 2)  # display of the profile
                    xs = np.linspace(x.min() - 0.2, x.max() + 0.2, 100)
                    ax.plot(
                        np.exp(xs), np.polyval(coef, xs), "-", color=colors[b], lw=1.2, alpha=0.8
                    )
                m = minima.get(b)
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
            ax.set_ylabel(f"held-out loss on '{g.loss_domain.iloc[0]}' (nats/token)")
            title = f"{dt}: isoFLOP curves"
            if _ok(iso) and len(iso.interior) >= 2:
                title += f"\nN_opt ∝ C^{iso.a:.2f}, D_opt ∝ C^{iso.b:.2f}"
            ax.set_title(title)
            ax.legend(loc="upper left")
        fig.tight_layout(rect=(0, 0.03, 1, 1))
    return fig


def loss_vs_compute(df: pd.DataFrame, fits: dict[str, dict[str, Any]]) -> Figure:
    """Loss against training FLOPs per model size, the isoFLOP minima and the compute-optimal
    frontier of the parametric law (Hoffmann et al. 2022, Fig. 2/4 style)."""
    types = sorted(df.data_type.unique())
    with plt.rc_context(STYLE):
        fig, axes = _panels(len(types))
        cmap = plt.get_cmap("plasma")
        for ax, dt in zip(axes, types, strict=True):
            g = df[df.data_type == dt]
            sizes = sorted(g.params.unique())
            for i, n in enumerate(sizes):
                gn = g[g.params == n].sort_values("flops")
                color = cmap(0.1 + 0.75 * i / max(1, len(sizes) - 1))
                ax.plot(
                    gn.flops,
                    gn.loss,
                    "o-",
                    color=color,
                    ms=4,
                    lw=1,
                    label=f"{gn.model.iloc[0]} ({_fmt_params(n)})",
                )
            iso = fits.get(dt, {}).get("isoflop")
            if _ok(iso):
                ms = [m for m in iso.minima if math.isfinite(m.loss_opt)]
                ax.plot(
                    [m.flops for m in ms],
                    [m.loss_opt for m in ms],
                    "k*",
                    ms=10,
                    label="isoFLOP minima",
                )
            par = fits.get(dt, {}).get("chinchilla")
            if _ok(par):
                cs = np.geomspace(g.flops.min() / 2, g.flops.max() * 2, 60)
                n_opt, d_opt = par.compute_optimal(cs)
                ax.plot(
                    cs,
                    par.predict(n_opt, d_opt),
                    "k--",
                    lw=1,
                    label=f"L(N_opt, D_opt), E={par.E:.2f}",
                )
            ax.set_xscale("log")
            ax.set_xlabel("training FLOPs C")
            ax.set_ylabel(f"held-out loss on '{g.loss_domain.iloc[0]}'")
            ax.set_title(f"{dt}: loss against compute")
            ax.legend(loc="upper right")
        fig.tight_layout(rect=(0, 0.03, 1, 1))
    return fig


def optimal_allocation(df: pd.DataFrame, fits: dict[str, dict[str, Any]]) -> Figure:
    """N_opt and D_opt against compute for each data type: isoFLOP minima with their power-law
    fits (solid) and the parametric law's closed form (dashed, Hoffmann et al. 2022 eq. 4)."""
    types = sorted(df.data_type.unique())
    with plt.rc_context(STYLE):
        fig, (ax_n, ax_d) = _panels(2)
        cs = np.geomspace(df.budget_flops.min() / 3, df.budget_flops.max() * 3, 60)
        for k, dt in enumerate(types):
            color = DATA_COLORS[k % len(DATA_COLORS)]
            iso = fits.get(dt, {}).get("isoflop")
            par = fits.get(dt, {}).get("chinchilla")
            for ax, attr, law_attr in ((ax_n, "n_opt", "n_opt_law"), (ax_d, "d_opt", "d_opt_law")):
                if _ok(iso):
                    inner = [m for m in iso.minima if m.interior]
                    outer = [m for m in iso.minima if not m.interior and math.isfinite(m.n_opt)]
                    ax.plot(
                        [m.flops for m in inner],
                        [getattr(m, attr) for m in inner],
                        "o",
                        color=color,
                        ms=6,
                    )
                    ax.plot(
                        [m.flops for m in outer],
                        [getattr(m, attr) for m in outer],
                        "o",
                        color=color,
                        mfc="white",
                        ms=6,
                    )
                    law = getattr(iso, law_attr)
                    if len(inner) >= 2 and math.isfinite(law.exponent):
                        ax.plot(
                            cs,
                            law.predict(cs),
                            "-",
                            color=color,
                            lw=1.3,
                            label=f"{dt}: isoFLOP, exponent {law.exponent:.2f}",
                        )
                if _ok(par):
                    n_opt, d_opt = par.compute_optimal(cs)
                    exponent = par.a if attr == "n_opt" else par.b
                    ax.plot(
                        cs,
                        n_opt if attr == "n_opt" else d_opt,
                        "--",
                        color=color,
                        lw=1,
                        label=f"{dt}: parametric, exponent {exponent:.2f}",
                    )
        for ax, name in (
            (ax_n, "compute-optimal parameters N_opt"),
            (ax_d, "compute-optimal tokens D_opt"),
        ):
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel("training FLOPs C")
            ax.set_ylabel(name)
            if ax.get_legend_handles_labels()[0]:
                ax.legend(loc="upper left")
        ax_n.set_title("Optimal model size (hollow: minimum at the ladder's edge)")
        ax_d.set_title("Optimal training tokens")
        fig.tight_layout(rect=(0, 0.03, 1, 1))
    return fig


def accuracy_vs_compute(df: pd.DataFrame, fits: dict[str, dict[str, Any]]) -> Figure | None:
    """Exact-match task accuracy against compute, per data type and model size."""
    from scaling.analysis import accuracy_columns

    cols = accuracy_columns(df)
    if not cols:
        return None
    with plt.rc_context(STYLE):
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
            ax.legend(loc="upper left")
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
    with plt.rc_context(STYLE):
        fig, axes = _panels(len(types))
        cmap = plt.get_cmap("plasma")
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
            ax.legend(loc="upper right", title="params")
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
        plt.close(fig)
        written.append(out / f"{name}.png")
    return written
