"""Figure and table of experiment=arithmetic_formats from its stored results.

    python experiments/arithmetic_formats/analyze.py runs/arithmetic_formats [--out DIR]

Reads every result.json of the sweep (scaling.analysis.results.load) and writes to ``--out``
(default: the sweep's ``figures/``): ``results.csv`` (one row per run: format, size, budget,
tokens, training problems drawn, held-out loss, accuracy on our held-out problems and on Lee et
al. 2023's test set, each with the number of problems scored and its Wilson 95% interval,
Wilson 1927, as the verdict computes it), ``summary.json`` (the same rows), the frozen launch
``multirun.yaml`` (copied from the sweep) and ``arithmetic_formats.png`` (accuracy with its
Wilson band against training FLOPs and against training problems).

Lee et al. 2023 ("Teaching Arithmetic to Small Transformers", ICLR 2024, Sec. 4-5 and Fig. 4)
find that, per training example, reversed output beats plain and the detailed scratchpad beats
both. At equal FLOPs the comparison differs: a scratchpad example costs ~5x the tokens of a
plain one, so a run sees ~5x fewer problems. This script reports both views.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import matplotlib
import matplotlib.ticker
import pandas as pd
from matplotlib.figure import Figure

from scaling.analysis import results
from scaling.analysis.exchange import wilson  # Wilson 1927, as the verdict uses

FORMATS = ("plain", "reversed", "scratchpad")
COLOURS = {"plain": "#4C72B0", "reversed": "#DD8452", "scratchpad": "#55A868"}
MARKERS = ["o", "s", "^", "D"]


def summarise(df: pd.DataFrame) -> list[dict]:
    """One record per run, sorted by format, size and budget."""
    df = df.assign(fmt=df.data_type.str.replace("arith_", "", regex=False))
    keep = [
        "fmt",
        "model",
        "params",
        "budget_flops",
        "tokens",
        "train_documents",
        "loss",
        "acc_arithmetic",
        "acc_lee2023",
        "heldout_split_acc_lee2023",
        "train_split_acc_lee2023",
    ]
    keep = [c for c in keep if c in df]
    out = df[keep].sort_values(["fmt", "params", "budget_flops"]).copy()
    for task in ("arithmetic", "lee2023"):
        acc, n = f"acc_{task}", f"task_n_{task}"
        if acc in df and n in df:
            out[n] = df.loc[out.index, n]
            ci = [wilson(float(a), float(k)) for a, k in zip(out[acc], out[n], strict=True)]
            out[f"{acc}_lo"], out[f"{acc}_hi"] = [c[0] for c in ci], [c[1] for c in ci]
    return [{k: (None if pd.isna(v) else v) for k, v in r.items()} for r in out.to_dict("records")]


def figure(df: pd.DataFrame, rows: list[dict], path: Path) -> None:
    t = pd.DataFrame(rows)
    sizes = sorted(t.params.unique())
    fig = Figure(figsize=(11, 4.2), layout="constrained")
    axes = fig.subplots(1, 2)
    acc = "acc_lee2023" if "acc_lee2023" in t else "acc_arithmetic"
    for fmt in FORMATS:
        for k, n in enumerate(sizes):
            sub = t[(t.fmt == fmt) & (t.params == n)].sort_values("budget_flops")
            if sub.empty:
                continue
            label = f"{fmt}, {n / 1e3:.0f}k params"
            style = {"color": COLOURS[fmt], "marker": MARKERS[k % 4], "ls": ["-", "--"][k % 2]}
            for ax, x in ((axes[0], "budget_flops"), (axes[1], "train_documents")):
                if x not in sub:
                    continue
                ax.plot(sub[x], 100 * sub[acc], label=label if ax is axes[0] else None, **style)
                if f"{acc}_lo" in sub:
                    ax.fill_between(
                        sub[x],
                        100 * sub[f"{acc}_lo"],
                        100 * sub[f"{acc}_hi"],
                        color=COLOURS[fmt],
                        alpha=0.12,
                        lw=0,
                    )
    axes[0].set_xlabel("training FLOPs")
    axes[1].set_xlabel("training problems drawn")
    for ax in axes:
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_ylabel("exact-match accuracy (%, 95% Wilson band)")
        ax.set_ylim(-2, 102)
        ax.grid(alpha=0.3, which="both")
    axes[0].set_title("At equal compute")
    axes[1].set_title("At equal number of examples (Lee et al.'s axis)")
    test = "Lee et al. 2023 3-digit test set" if acc == "acc_lee2023" else "held-out problems"
    fig.suptitle(f"Addition formats: greedy accuracy on {test}")
    fig.legend(loc="outside right center", fontsize=8)
    fig.savefig(path, dpi=150)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sweep", type=Path)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    df = results.load(args.sweep)
    df = df[df.data_type.str.startswith("arith_")] if len(df) else df
    if df.empty:
        print(f"sweep: no finished arith_* runs under {args.sweep}", file=sys.stderr)
        return 2
    out = args.out or args.sweep / "figures"
    out.mkdir(parents=True, exist_ok=True)
    rows = summarise(df)
    figure(df, rows, out / "arithmetic_formats.png")
    (out / "summary.json").write_text(json.dumps(rows, indent=1) + "\n")
    pd.DataFrame(rows).to_csv(out / "results.csv", index=False, float_format="%.6g")
    if (args.sweep / "multirun.yaml").is_file():
        shutil.copyfile(args.sweep / "multirun.yaml", out / "multirun.yaml")
    print(json.dumps(rows, indent=1))
    print(f"wrote results.csv, summary.json, arithmetic_formats.png to {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
