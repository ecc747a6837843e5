"""Table, numbers and figure of experiment=lr_by_width from its stored results.

    python experiments/lr_by_width/analyze.py runs/lr_by_width [--out experiments/lr_by_width]

For every data type and width: the held-out loss at each peak LR, the best grid LR, whether it
is bracketed (strictly inside the scanned range: Porian et al. 2024, Sec. 4, on why an LR at the
edge of its scan biases fitted exponents), the vertex of a parabola in log2(LR) through the best
point and its two neighbours, and the loss the default LR (configs/optim/adamw.yaml) gives up
against the best. Across widths: the slope of log(vertex LR) against log(d_model) with its 95%
interval (ordinary least squares, Student t with n - 2 degrees of freedom), the exponent a
muP-style 1/width rule would put at -1 (Yang et al. 2021, Tensor Programs V) and the ladder's
default (``lr_width_exponent: 0``) at 0.

One seed per cell, so there is no noise estimate per point: the vertex's interval is its
bracket (the neighbouring grid LRs, a factor of 2 each side), which is where the minimum of a
unimodal loss-vs-LR curve lies. Writes ``results.csv`` (one row per run), ``summary.json``
and ``lr_by_width.png`` to --out; prints the summary.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from scaling.analysis import results
from scaling.analysis.plot_style import STYLE, _panels, colormap, legend_outside

DEFAULT_LR = 6e-3  # configs/optim/adamw.yaml
COLUMNS = ["run_id", "data_type", "model", "d_model", "params", "peak_lr", "tokens", "loss"]


def vertex(lrs: np.ndarray, losses: np.ndarray, i: int) -> float:
    """The minimum of the parabola in log2(LR) through points i-1, i, i+1 (the best grid point
    and its neighbours); the grid point itself when the parabola opens downwards."""
    x, y = np.log2(lrs[i - 1 : i + 2]), losses[i - 1 : i + 2]
    a, b, _ = np.polyfit(x, y, 2)
    return float(2 ** (-b / (2 * a))) if a > 0 else float(lrs[i])


def per_width(g: pd.DataFrame) -> dict[str, Any]:
    """Best LR, bracket, vertex and the default LR's cost for one (data type, width)."""
    g = g.sort_values("peak_lr")
    lrs, losses = g.peak_lr.to_numpy(float), g.loss.to_numpy(float)
    i = int(np.argmin(losses))
    bracketed = 0 < i < len(lrs) - 1
    default = g[np.isclose(g.peak_lr, DEFAULT_LR)].loss
    return {
        "model": g.model.iloc[0],
        "d_model": int(g.d_model.iloc[0]),
        "params": int(g.params.iloc[0]),
        "best_grid_lr": float(lrs[i]),
        "best_loss": float(losses[i]),
        "bracketed": bool(bracketed),
        "vertex_lr": vertex(lrs, losses, i) if bracketed else None,
        "vertex_interval": [float(lrs[i - 1]), float(lrs[i + 1])] if bracketed else None,
        "default_lr_loss_gap": float(default.iloc[0] - losses[i]) if len(default) else None,
        "scanned": [float(lrs[0]), float(lrs[-1])],
    }


def width_slope(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """OLS slope of log(vertex LR) on log(d_model), with its 95% t interval."""
    pts = [(r["d_model"], r["vertex_lr"]) for r in rows if r["vertex_lr"]]
    if len(pts) < 3:
        return {"slope": None, "why": f"{len(pts)} bracketed widths; a slope needs 3"}
    x, y = np.log([p[0] for p in pts]), np.log([p[1] for p in pts])
    fit = stats.linregress(x, y)
    half = stats.t.ppf(0.975, len(pts) - 2) * fit.stderr
    return {
        "slope": float(fit.slope),
        "interval": [float(fit.slope - half), float(fit.slope + half)],
        "widths": len(pts),
    }


def summarise(df: pd.DataFrame) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for dt, g in df.groupby("data_type", sort=True):
        rows = [per_width(gw) for _, gw in g.groupby("d_model", sort=True)]
        out[str(dt)] = {"widths": rows, "lr_vs_width": width_slope(rows)}
    return out


def figure(df: pd.DataFrame, summary: dict[str, Any], path: Path) -> None:
    import matplotlib

    types = sorted(summary)
    with matplotlib.rc_context(STYLE):
        fig, axes = _panels(len(types))
        cmap = colormap("plasma")
        for ax, dt in zip(axes, types, strict=True):
            g = df[df.data_type == dt]
            widths = sorted(g.d_model.unique())
            for k, (d, gw) in enumerate(g.groupby("d_model", sort=True)):
                gw = gw.sort_values("peak_lr")
                color = cmap(0.1 + 0.75 * k / max(1, len(widths) - 1))
                row = next(r for r in summary[dt]["widths"] if r["d_model"] == d)
                label = f"{row['model']} (d={d})"
                ax.plot(gw.peak_lr, gw.loss, "o-", color=color, ms=4, lw=1.2, label=label)
                if row["vertex_lr"]:
                    lo, hi = row["vertex_interval"]
                    ax.plot([lo, hi], [row["best_loss"]] * 2, "-", color=color, lw=3, alpha=0.35)
                    ax.plot(
                        row["vertex_lr"],
                        row["best_loss"],
                        "*",
                        color=color,
                        ms=11,
                        mec="black",
                        mew=0.6,
                        zorder=5,
                    )
            ax.axvline(DEFAULT_LR, color="0.5", ls=":", lw=1, label="default 6e-3")
            ax.set_xscale("log", base=2)
            grid = sorted(g.peak_lr.unique())
            ax.set_xticks(grid, [f"{v:.2g}" for v in grid])
            ax.minorticks_off()
            ax.set_xlabel("peak learning rate")
            ax.set_ylabel(f"held-out loss on '{g.loss_domain.iloc[0]}'\n(nats/token)")
            s = summary[dt]["lr_vs_width"]
            slope = (
                f"slope of log LR* on log d: {s['slope']:.2f} "
                f"[{s['interval'][0]:.2f}, {s['interval'][1]:.2f}] (95%)"
                if s["slope"] is not None
                else s["why"]
            )
            ax.set_title(f"{dt}: loss against LR at 2.8e11 FLOPs\n{slope}")
            legend_outside(ax)
        fig.tight_layout()
        fig.savefig(path, bbox_inches="tight")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sweep_dir")
    ap.add_argument("--out", help="output directory (default: the sweep's figures/)")
    args = ap.parse_args()
    df = results.load(args.sweep_dir)
    out = Path(args.out or Path(args.sweep_dir) / "figures")
    out.mkdir(parents=True, exist_ok=True)
    summary = summarise(df)
    df[[c for c in COLUMNS if c in df]].sort_values(["data_type", "d_model", "peak_lr"]).to_csv(
        out / "results.csv", index=False, float_format="%.6g"
    )
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    figure(df, summary, out / "lr_by_width.png")
    print(json.dumps(summary, indent=2))
    print(f"wrote {out / 'results.csv'}, summary.json, lr_by_width.png", flush=True)


if __name__ == "__main__":
    main()
