"""Table and figure of experiment=correction_modes (the expert-correction study) from its records.

    python experiments/expert_correction/analyze.py runs/correction_modes \
        --out experiments/expert_correction

The "AI generates, expert corrects" pipeline (scaling/data/correction.py): a generator that
corrupts steps at rate epsilon, an expert with a recall, four ways of using the expert (raw,
outcome_filter, process_correction, retry_kept). Per mode this writes:

- the expert-seconds per kept trace and per token the run's unique data cost (as recorded);
- the held-out loss gap to ``raw`` at the same model and budget, mean over the grid's cells with
  a 95% Student-t interval over cells (paired);
- verified accuracy with its Wilson 95% interval (Wilson 1927) per cell;
- the compute multiplier: the FLOPs ``raw`` would need for the mode's loss, interpolating raw's
  loss linearly in log FLOPs between its two budgets (extrapolated where outside; a two-point
  interpolation has no interval, which the summary says).

Writes ``results.csv``, ``summary.json`` and ``expert_correction.png`` to --out.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
from scipy import stats

from scaling.analysis import results
from scaling.analysis.exchange import wilson  # Wilson 1927, as the verdict uses
from scaling.analysis.plot_style import STYLE, _log_ticks, _panels, legend_outside

MODES = ("raw", "outcome_filter", "process_correction", "retry_kept")
COLUMNS = [
    "run_id",
    "mode",
    "model",
    "params",
    "budget_flops",
    "tokens",
    "loss",
    "acc_arithmetic",
    "task_n_arithmetic",
    "data_cost_expert_seconds_per_kept_trace",
    "data_cost_expert_seconds_per_token",
    "data_cost_interventions_per_1000_steps",
]


def table(df: pd.DataFrame) -> pd.DataFrame:
    t = df.assign(mode=df.data_type.str.replace("frontier_", "", regex=False))
    raw = t[t["mode"] == "raw"].set_index(["model", "budget_flops"]).loss
    keys = list(zip(t.model, t.budget_flops, strict=True))
    t["gap_to_raw"] = [loss - raw.get(k, np.nan) for loss, k in zip(t.loss, keys, strict=True)]
    t["raw_flops_for_loss"] = [
        _raw_flops(t[t["mode"] == "raw"], m, v) for m, v in zip(t.model, t.loss, strict=True)
    ]
    t["compute_multiplier"] = t.raw_flops_for_loss / t.budget_flops
    cols = [c for c in COLUMNS if c in t] + ["gap_to_raw", "compute_multiplier"]
    return t[cols].sort_values(["mode", "params", "budget_flops"])


def _raw_flops(raw: pd.DataFrame, model: str, loss: float) -> float:
    """FLOPs at which raw's loss (linear in log FLOPs through its two budgets) equals ``loss``."""
    g = raw[raw.model == model].sort_values("budget_flops")
    if len(g) < 2:
        return math.nan
    x, y = np.log(g.budget_flops.to_numpy(float)[:2]), g.loss.to_numpy(float)[:2]
    if y[1] == y[0]:
        return math.nan
    return float(math.exp(x[0] + (loss - y[0]) * (x[1] - x[0]) / (y[1] - y[0])))


def summarise(t: pd.DataFrame) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for mode in MODES:
        g = t[t["mode"] == mode]
        if g.empty:
            continue
        gaps = g.gap_to_raw.to_numpy(float)
        entry: dict[str, Any] = {
            "expert_seconds_per_kept_trace": float(
                g.data_cost_expert_seconds_per_kept_trace.mean()
            ),
            "expert_seconds_per_token": float(g.data_cost_expert_seconds_per_token.mean()),
        }
        if mode != "raw" and len(gaps) > 1:
            half = stats.t.ppf(0.975, len(gaps) - 1) * gaps.std(ddof=1) / math.sqrt(len(gaps))
            entry["loss_gap_to_raw"] = {
                "mean": float(gaps.mean()),
                "interval": [float(gaps.mean() - half), float(gaps.mean() + half)],
                "cells": len(gaps),
            }
            mult = g.compute_multiplier.to_numpy(float)
            entry["compute_multiplier_geomean"] = float(np.exp(np.nanmean(np.log(mult))))
            entry["compute_multiplier_note"] = (
                "two-budget interpolation of raw's loss per model, one seed: no interval"
            )
        entry["accuracy"] = [
            {
                "model": r.model,
                "budget_flops": r.budget_flops,
                "accuracy": r.acc_arithmetic,
                "interval": wilson(r.acc_arithmetic, int(r.task_n_arithmetic)),
            }
            for r in g.itertuples()
        ]
        out[mode] = entry
    return out


def figure(t: pd.DataFrame, summary: dict[str, Any], path: Path) -> None:
    colors = dict(zip(MODES, ("0.3", "#4C72B0", "#55A868", "#DD8452"), strict=True))
    with matplotlib.rc_context(STYLE):
        fig, (ax_c, ax_l) = _panels(2)
        for mode, g in t.groupby("mode"):
            cost = g.data_cost_expert_seconds_per_token.mean()
            gap = summary[mode].get("loss_gap_to_raw")
            if gap:
                lo, hi = gap["interval"]
                ax_c.errorbar(
                    cost,
                    gap["mean"],
                    yerr=[[gap["mean"] - lo], [hi - gap["mean"]]],
                    fmt="o",
                    color=colors[mode],
                    capsize=3,
                    label=mode,
                )
            else:
                ax_c.plot(cost, 0.0, "o", color=colors[mode], label=mode)
            for model, gm in g.groupby("model"):
                gm = gm.sort_values("budget_flops")
                ax_l.plot(
                    gm.budget_flops,
                    gm.loss,
                    "o-" if model == "m" else "s--",
                    color=colors[mode],
                    ms=4,
                    lw=1,
                    label=f"{mode}, {model}",
                )
        ax_c.axhline(0, color="0.5", lw=0.8)
        ax_c.set_xlabel("expert-seconds per training token (unique data)")
        ax_c.set_ylabel("held-out loss minus raw's\n(nats/token; mean, 95% t over cells)")
        ax_c.set_title("what each mode costs and buys")
        legend_outside(ax_c)
        ax_l.set_xscale("log")
        ax_l.set_xlabel("training FLOPs C")
        ax_l.set_ylabel("held-out loss on 'trace'\n(nats/token)")
        ax_l.set_title("loss against compute per mode and model")
        legend_outside(ax_l)
        _log_ticks(ax_l)
        fig.tight_layout()
        fig.savefig(path, bbox_inches="tight")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sweep_dir")
    ap.add_argument("--out", help="output directory (default: the sweep's figures/)")
    args = ap.parse_args()
    out = Path(args.out or Path(args.sweep_dir) / "figures")
    out.mkdir(parents=True, exist_ok=True)
    t = table(results.load(args.sweep_dir))
    summary = summarise(t)
    t.to_csv(out / "results.csv", index=False, float_format="%.6g")
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=float) + "\n")
    figure(t, summary, out / "expert_correction.png")
    print(t.to_string(index=False))
    print(json.dumps(summary, indent=2, default=float))


if __name__ == "__main__":
    main()
