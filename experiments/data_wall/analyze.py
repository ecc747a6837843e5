"""Table and figure of experiment=data_constrained (the data-wall study) from its stored results.

    python experiments/data_wall/analyze.py runs/data_constrained --out experiments/data_wall
    scaling fit runs/data_constrained --law data_constrained --base tied \\
        --json experiments/data_wall/fit.json            # R_D*, R_N* with intervals

Writes ``results.csv`` (one row per run: pool, epochs, held-out loss) and ``data_wall.png``:
held-out loss against training FLOPs, one line per (model, unique-token pool), fresh data
(no pool) as the reference, and the loss each repeated run gives up against fresh data at the
same model and budget. Epochs = tokens / unique tokens (Muennighoff et al. 2023, Sec. 3).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd

from scaling.analysis import results
from scaling.analysis.plot_style import STYLE, _log_ticks, _panels, colormap, legend_outside

COLUMNS = ["run_id", "model", "params", "budget_flops", "tokens", "pool", "epochs", "loss"]


def pools(sweep_dir: str) -> dict[str, float]:
    """run id -> the run's configured unique-token pool (``data.unique_tokens``; NaN: fresh)."""
    out = {}
    for path in results.result_files(sweep_dir):
        rec = json.loads(path.read_text())
        pool = rec["config"]["data"].get("unique_tokens")
        out[rec["run_id"]] = float(pool) if pool is not None else np.nan
    return out


def table(df: pd.DataFrame, pool_of: dict[str, float]) -> pd.DataFrame:
    """One row per run, with its pool (NaN: fresh data), epochs (tokens / unique tokens seen,
    as recorded) and its loss gap to the fresh-data run of the same model and budget."""
    out = df.assign(pool=df.run_id.map(pool_of))
    fresh = out[out.pool.isna()].set_index(["model", "budget_flops"]).loss
    keys = list(zip(out.model, out.budget_flops, strict=True))
    out["gap_to_fresh"] = [
        loss - fresh.get(k, np.nan) for loss, k in zip(out.loss, keys, strict=True)
    ]
    return out[[*COLUMNS, "gap_to_fresh"]].sort_values(["pool", "params", "budget_flops"])


def gap_summary(t: pd.DataFrame) -> dict[str, dict[str, float]]:
    """Per pool: the mean loss gap to fresh data over the repeated runs (epochs > 1), with a 95%
    Student-t interval over runs (paired with the fresh run of the same model and budget)."""
    from scipy import stats

    out = {}
    for pool, g in t[(t.epochs > 1) & t.pool.notna()].groupby("pool"):
        gaps = g.gap_to_fresh.to_numpy(float)
        half = stats.t.ppf(0.975, len(gaps) - 1) * gaps.std(ddof=1) / np.sqrt(len(gaps))
        out[f"{pool:.0f}"] = {
            "runs": len(gaps),
            "max_epochs": float(g.epochs.max()),
            "mean_gap_nats": float(gaps.mean()),
            "interval": [float(gaps.mean() - half), float(gaps.mean() + half)],
        }
    return out


def figure(t: pd.DataFrame, path: Path) -> None:
    with matplotlib.rc_context(STYLE):
        fig, (ax_l, ax_g) = _panels(2)
        pools = sorted(t.pool.dropna().unique())
        cmap = colormap("viridis")
        colors = {p: cmap(0.15 + 0.6 * i / max(1, len(pools) - 1)) for i, p in enumerate(pools)}
        markers = dict(
            zip(
                sorted(t.model.unique(), key=lambda m: t[t.model == m].params.min()),
                "osD^v",
                strict=False,
            )
        )
        for (model, pool), g in t.groupby(["model", t.pool.fillna(np.inf)], sort=True):
            g = g.sort_values("budget_flops")
            fresh = not np.isfinite(pool)
            color = "black" if fresh else colors[pool]
            label = f"{model}, " + ("fresh data" if fresh else f"pool {pool:.0e} tokens")
            ax_l.plot(
                g.budget_flops,
                g.loss,
                "-",
                marker=markers[model],
                color=color,
                ms=5,
                lw=1,
                label=label,
            )
            if not fresh:
                ax_g.plot(
                    g.epochs,
                    g.gap_to_fresh,
                    marker=markers[model],
                    color=color,
                    ms=6,
                    ls="none",
                    label=label,
                )
        ax_l.set_xscale("log")
        ax_l.set_xlabel("training FLOPs C")
        ax_l.set_ylabel("held-out loss on 'trace'\n(nats/token)")
        ax_l.set_title("loss against compute (black: fresh data;\ncolours and markers as right)")
        ax_g.axhline(0, color="0.5", lw=0.8)
        ax_g.set_xscale("log")
        ax_g.set_xlabel("epochs over the pool (tokens / unique tokens)")
        ax_g.set_ylabel("loss above fresh data, same model and C\n(nats/token)")
        ax_g.set_title("what repetition costs")
        legend_outside(ax_g)
        for a in fig.axes:
            _log_ticks(a)
        fig.tight_layout()
        fig.savefig(path, bbox_inches="tight")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sweep_dir")
    ap.add_argument("--out", help="output directory (default: the sweep's figures/)")
    args = ap.parse_args()
    out = Path(args.out or Path(args.sweep_dir) / "figures")
    out.mkdir(parents=True, exist_ok=True)
    t = table(results.load(args.sweep_dir), pools(args.sweep_dir))
    t.to_csv(out / "results.csv", index=False, float_format="%.6g")
    figure(t, out / "data_wall.png")
    summary = gap_summary(t)
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(t.to_string(index=False))
    print(json.dumps(summary, indent=2))
    print(f"wrote {out / 'results.csv'}, summary.json and data_wall.png")


if __name__ == "__main__":
    main()
