"""The look shared by every figure: rc style, colours, number formats, panels, log ticks, the
source footer. No torch, and no pyplot: figures are built with matplotlib's object API
(``ReportFigure``), so importing or drawing sets no backend and leaves the caller's (a notebook's
inline backend) alone."""

from __future__ import annotations

import io
import math
from typing import Any

import matplotlib
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


def _iv_text(value: float, iv: Any) -> str:
    """An exponent with its 95% interval for a title or legend."""
    if not iv or any(v is None or not math.isfinite(v) for v in iv):
        return f"{value:.2f} (no interval)"
    return f"{value:.2f} [{iv[0]:.2f}, {iv[1]:.2f}]"


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


class ReportFigure(Figure):
    """A Figure outside pyplot that shows itself in Jupyter (``_repr_png_``) without a backend;
    ``savefig`` picks the canvas from the file type (Agg for PNG, the PDF backend for PDF)."""

    def _repr_png_(self) -> bytes:
        buf = io.BytesIO()
        self.savefig(buf, format="png", bbox_inches="tight")
        return buf.getvalue()


def colormap(name: str) -> Any:
    """A registered matplotlib colormap by name (pyplot's ``get_cmap`` without pyplot)."""
    return matplotlib.colormaps[name]


def _budget_colors(budgets: list[float]) -> dict[float, Any]:
    cmap = colormap("viridis")
    if len(budgets) == 1:
        return {budgets[0]: cmap(0.4)}
    lo, hi = math.log(min(budgets)), math.log(max(budgets))
    return {b: cmap(0.1 + 0.75 * (math.log(b) - lo) / (hi - lo)) for b in budgets}


def _panels(n: int, width: float = 5.2, height: float = 3.6) -> tuple[Figure, list[Any]]:
    """A new ``ReportFigure`` of ``n`` panels side by side (not registered with pyplot)."""
    fig = ReportFigure(figsize=(width * n, height))
    axes = fig.subplots(1, n, squeeze=False)
    return fig, list(axes[0])


# Minor labels (2x, 5x each decade) only on log axes spanning at most this many decades: beyond
# it the decades' own labels suffice, and minor ones collide (measured: a learning-curve axis of
# 4.5 decades at 5.2 in per panel ran "5x10^2 10^3 2x10^3 ..." into one another).
MINOR_LABEL_MAX_DECADES = 2.0


def _log_ticks(ax: Any) -> None:
    """Minor ticks of log axes at 2 and 5 times each decade, labelled only where the axis spans
    at most ``MINOR_LABEL_MAX_DECADES`` (all eight labels overlap when an axis spans about one
    decade, as a sweep's compute often does; 2 and 5 overlap over several decades)."""
    from matplotlib.ticker import LogFormatterSciNotation, LogLocator, NullFormatter

    for axis, scale, lim in (
        (ax.xaxis, ax.get_xscale(), ax.get_xlim()),
        (ax.yaxis, ax.get_yscale(), ax.get_ylim()),
    ):
        if scale != "log":
            continue
        axis.set_minor_locator(LogLocator(base=10, subs=(2.0, 5.0)))
        lo, hi = sorted(lim)
        decades = math.log10(hi / lo) if lo > 0 else math.inf
        if decades <= MINOR_LABEL_MAX_DECADES:
            axis.set_minor_formatter(
                LogFormatterSciNotation(labelOnlyBase=False, minor_thresholds=(1e9, 1e9))
            )
        else:
            axis.set_minor_formatter(NullFormatter())


def legend_outside(ax: Any, **kw: Any) -> None:
    """The panel's legend to the right of its axes, where it can never cover a point or a
    curve (inside, "upper left" hid the smallest model's points at the highest loss);
    ``tight_layout`` and ``bbox_inches="tight"`` make room for it."""
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, **kw)


def nothing_drawn(ax: Any, why: str) -> None:
    """An empty panel says why it is empty instead of showing bare default axes."""
    ax.text(
        0.5,
        0.5,
        why,
        ha="center",
        va="center",
        fontsize=9,
        color="0.35",
        transform=ax.transAxes,
    )
    ax.set_xscale("linear")  # before the ticks: setting a scale resets its locator
    ax.set_yscale("linear")
    ax.set_xticks([])
    ax.set_yticks([])
