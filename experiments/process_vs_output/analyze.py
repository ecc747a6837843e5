"""Table, summary and figure of the process-vs-output study from its sweeps' records.

    python experiments/process_vs_output/analyze.py runs/quickstart runs/quickstart_seed1 \
        --out experiments/process_vs_output

Each sweep is experiment=quickstart at one seed (the second with ``seed=1 name=...``): the
frontier mixture written with its process (``frontier``), the same problems outputs-only
(``outputs_only``) and web prose (``web``), at five budgets. Per sweep, and for the sweeps
pooled (correct answers and problems summed over seeds at each grid point), this writes:

- per budget, each synthetic arm's best size and its verified accuracy on the shared held-out
  problems (Wilson 1927 interval), and the difference frontier - outputs_only with Newcombe's
  interval (Newcombe 1998, method 10): ``scaling.analysis.process``, as the verdict states it;
- the per-kind accuracy (arithmetic, iGSM, tool use, agent) of those best runs, with Wilson
  intervals over each kind's problems;
- the answer-token loss (eval domain ``answer``: the answer line of the same problems
  outputs-only) of each arm's best size per budget;
- the compute multiplier (what outputs_only would need to reach frontier's accuracy) from the
  verdict's task exchange rate, or why it is not determined;
- the verdict of the sweeps pooled (the product's own fits and gates, ``scaling.analysis``, on
  every run of every sweep: two seeds per grid point), its compute-optimal exponents per arm.

Writes ``results.csv``, ``summary.json``, ``verdict_pooled.md`` and ``process_vs_output.png``
to --out.
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

from scaling.analysis import results, verdict
from scaling.analysis.exchange import task_rate, wilson
from scaling.analysis.pipeline import fit_sweep
from scaling.analysis.plot_style import STYLE, _log_ticks, _panels
from scaling.analysis.process import process_contrasts
from scaling.core.io import read_json

ARMS = ("frontier", "outputs_only", "web")
KINDS = ("arithmetic", "igsm", "tool_use", "agent")
TASK = "frontier"
COLORS = {"frontier": "#C44E52", "outputs_only": "#4C72B0", "web": "0.45"}
COLUMNS = [
    "run_id",
    "data_type",
    "model",
    "params",
    "seed",
    "budget_flops",
    "flops",
    "tokens",
    "peak_lr",
    "loss",
    "val_answer_loss",
    "val_web_loss",
    "val_trace_loss",
    "val_outputs_loss",
    f"acc_{TASK}",
    f"task_n_{TASK}",
]


def load(sweeps: list[str]) -> pd.DataFrame:
    """Every run of the sweeps, with each kind's correct count and n from its result.json."""
    frames = [results.load(s) for s in sweeps]
    df = pd.concat(frames, ignore_index=True)
    kinds: dict[str, list[float]] = {f"{k}_{m}": [] for k in KINDS for m in ("acc", "n")}
    for run_dir in df.run_dir:
        by = (read_json(Path(run_dir) / "result.json") or {}).get("task", {}).get(TASK, {})
        by = by.get("by_generator", {})
        for k in KINDS:
            kinds[f"{k}_acc"].append(by.get(k, {}).get("accuracy", math.nan))
            kinds[f"{k}_n"].append(by.get(k, {}).get("n", math.nan))
    return df.assign(**kinds)


def table(df: pd.DataFrame) -> pd.DataFrame:
    cols = [c for c in COLUMNS if c in df] + [f"{k}_{m}" for k in KINDS for m in ("acc", "n")]
    return df[cols].sort_values(["data_type", "seed", "budget_flops", "params"])


def _est(value: float, lo: float, hi: float) -> dict[str, float]:
    return {"value": float(value), "interval_95": [float(lo), float(hi)]}


def _kinds(df: pd.DataFrame, dt: str, model: str, budget: float) -> dict[str, Any]:
    """Per-kind accuracy of (dt, model, budget), pooled over seeds, with Wilson intervals."""
    g = df[(df.data_type == dt) & (df.model == model) & (df.budget_flops == budget)]
    out = {}
    for k in KINDS:
        n = float(g[f"{k}_n"].sum())
        if n > 0:
            acc = float((g[f"{k}_acc"] * g[f"{k}_n"]).sum() / n)
            out[k] = {**_est(acc, *wilson(acc, n)), "n": int(n)}
    return out


def _answer_loss(df: pd.DataFrame) -> list[dict[str, Any]]:
    """Per arm and budget: the best (lowest) seed-mean answer-token loss over sizes."""
    rows = []
    for (dt, b), g in df.groupby(["data_type", "budget_flops"]):
        if dt == "web" or "val_answer_loss" not in g:
            continue
        per = g.groupby("model").val_answer_loss.agg(["mean", "std", "size"])
        best = per["mean"].idxmin()
        rows.append(
            {
                "data_type": dt,
                "budget_flops": float(b),
                "model": best,
                "answer_loss": float(per.loc[best, "mean"]),
                "seeds": int(per.loc[best, "size"]),
                "seed_sd": None if per.loc[best, "size"] < 2 else float(per.loc[best, "std"]),
            }
        )
    return rows


def contrast(df: pd.DataFrame) -> dict[str, Any]:
    """The process-vs-output result of one set of runs (one seed or seeds pooled)."""
    (c,) = [c for c in process_contrasts(df) if c["task"] == TASK]
    points = []
    for p in c["points"]:
        points.append(
            {
                **p.to_dict(),
                "trace_kinds": _kinds(df, c["trace"], p.trace_model, p.flops),
                "outputs_kinds": _kinds(df, c["outputs"], p.outputs_model, p.flops),
            }
        )
    rate = task_rate(df, c["outputs"], c["trace"], TASK).to_dict()
    return {
        "trace": c["trace"],
        "outputs": c["outputs"],
        "points": points,
        "headline_flops": c["headline_flops"],
        "headline_difference": c["headline"].to_dict(),
        "compute_multiplier": [
            {"flops": p["flops"], "outputs_only_compute_to_match": p["compute_multiplier"]}
            for p in rate["points"]
        ],
        "answer_loss": _answer_loss(df),
    }


def summarise(df: pd.DataFrame) -> dict[str, Any]:
    out: dict[str, Any] = {
        "runs": len(df),
        "seeds": sorted(int(s) for s in df.seed.unique()),
        "wall_seconds_by_seed": {
            int(s): float(g.wall_seconds.sum()) for s, g in df.groupby("seed")
        },
        "per_seed": {int(s): contrast(g) for s, g in df.groupby("seed")},
    }
    if len(out["seeds"]) > 1:
        out["pooled"] = contrast(df)
        heads = [v["headline_difference"] for v in out["per_seed"].values()]
        ivs = [h["interval"] for h in heads if h.get("interval")]
        out["seed_intervals_overlap"] = bool(
            len(ivs) == len(heads) and max(i[0] for i in ivs) <= min(i[1] for i in ivs)
        )
    return out


def pooled_verdict(df: pd.DataFrame, bootstrap: int) -> tuple[dict[str, Any], str]:
    """The verdict on every run of the sweeps at once (``scaling verdict`` on their union):
    the exponents per arm with their gates, and the verdict's text."""
    fits = fit_sweep(df.assign(budget=df.budget_flops), bootstrap=bootstrap)
    v = verdict.build(df, fits)
    exps: dict[str, Any] = {}
    for dt, e in verdict.to_jsonable(v)["data_types"].items():
        iso = e.get("isoflop", {})
        exps[dt] = {k: iso.get(k) for k in ("a", "b", "gate")}
    return exps, verdict.to_text(v)


def figure(df: pd.DataFrame, summary: dict[str, Any], path: Path) -> None:
    key = "pooled" if "pooled" in summary else next(iter(summary["per_seed"]))
    main = summary["pooled"] if key == "pooled" else summary["per_seed"][key]
    with matplotlib.rc_context(STYLE):
        fig, (ax_a, ax_d, ax_k) = _panels(3, width=4.6)
        for arm, side in ((main["trace"], "trace"), (main["outputs"], "outputs")):
            pts = main["points"]
            x = [p["flops"] for p in pts]
            acc = [100 * p[side]["value"] for p in pts]
            lo = [100 * p[side]["interval"][0] for p in pts]
            hi = [100 * p[side]["interval"][1] for p in pts]
            ax_a.fill_between(x, lo, hi, color=COLORS[arm], alpha=0.18, lw=0)
            ax_a.plot(x, acc, "o-", color=COLORS[arm], ms=4, label=f"{arm} (best size)")
        web = df[df.data_type == "web"]
        if len(web) and f"acc_{TASK}" in web:
            best = web.groupby("budget_flops")[f"acc_{TASK}"].max()
            ax_a.plot(best.index, 100 * best.values, "s:", color=COLORS["web"], ms=3, label="web")
        ax_a.set_xscale("log")
        ax_a.set_xlabel("training FLOPs C (6N_attn)")
        ax_a.set_ylabel("verified accuracy on held-out problems\n(%, 95% Wilson band)")
        ax_a.set_title("the same problems, with and without the process")
        ax_a.legend(loc="upper left", fontsize=8)
        _log_ticks(ax_a)
        for s, entry in summary["per_seed"].items():
            pts = entry["points"]
            x = np.array([p["flops"] for p in pts]) * (1.06 if int(s) % 2 else 1 / 1.06)
            d = np.array([p["difference"]["value"] for p in pts]) * 100
            lo = np.array([p["difference"]["interval"][0] for p in pts]) * 100
            hi = np.array([p["difference"]["interval"][1] for p in pts]) * 100
            ax_d.errorbar(x, d, yerr=[d - lo, hi - d], fmt="o", ms=4, capsize=3, label=f"seed {s}")
        ax_d.axhline(0, color="0.5", lw=0.8)
        ax_d.set_xscale("log")
        ax_d.set_xlabel("training FLOPs C (6N_attn)")
        ax_d.set_ylabel("frontier minus outputs_only\n(accuracy points, 95% Newcombe)")
        ax_d.set_title("what the process buys, per seed")
        ax_d.legend(loc="upper left", fontsize=8)
        _log_ticks(ax_d)
        top = main["points"][-1]
        xs = np.arange(len(KINDS))
        for j, (side, arm) in enumerate(
            (("trace_kinds", main["trace"]), ("outputs_kinds", main["outputs"]))
        ):
            vals = [top[side].get(k, {}).get("value", np.nan) * 100 for k in KINDS]
            los = [top[side].get(k, {}).get("interval_95", [np.nan] * 2)[0] * 100 for k in KINDS]
            his = [top[side].get(k, {}).get("interval_95", [np.nan] * 2)[1] * 100 for k in KINDS]
            ax_k.bar(
                xs + (j - 0.5) * 0.38,
                vals,
                0.38,
                color=COLORS[arm],
                label=arm,
                yerr=[np.subtract(vals, los), np.subtract(his, vals)],
                capsize=2,
            )
        ax_k.set_xticks(xs, ["arithmetic", "iGSM", "tool use", "agent"], rotation=20)
        ax_k.set_ylabel("verified accuracy (%, 95% Wilson)")
        ax_k.set_title(f"by kind at C={top['flops']:.0e} (best sizes)")
        ax_k.legend(loc="upper left", fontsize=8)
        fig.tight_layout()
        fig.savefig(path, bbox_inches="tight")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sweep_dirs", nargs="+", help="one quickstart sweep per seed")
    ap.add_argument("--out", help="output directory (default: the first sweep's figures/)")
    ap.add_argument("--bootstrap", type=int, default=200, help="resamples of the pooled fits")
    args = ap.parse_args()
    out = Path(args.out or Path(args.sweep_dirs[0]) / "figures")
    out.mkdir(parents=True, exist_ok=True)
    df = load(args.sweep_dirs)
    summary = summarise(df)
    if len(args.sweep_dirs) > 1:
        summary["pooled_exponents"], text = pooled_verdict(df, args.bootstrap)
        (out / "verdict_pooled.md").write_text(
            f"# Verdict on {len(df)} runs of {', '.join(args.sweep_dirs)} pooled\n\n{text}\n"
        )
    table(df).to_csv(out / "results.csv", index=False, float_format="%.6g")
    (out / "summary.json").write_text(json.dumps(summary, indent=1, default=float) + "\n")
    figure(df, summary, out / "process_vs_output.png")
    print(
        json.dumps({k: v for k, v in summary.items() if k != "per_seed"}, indent=1, default=float)[
            :4000
        ]
    )


if __name__ == "__main__":
    main()
