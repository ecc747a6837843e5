"""Figure and table of experiment=arithmetic_formats from its stored results.

    python experiments/arithmetic_formats/analyze.py runs/arithmetic_formats [--out DIR]

Reads every result.json of the sweep (scaling.analysis.results.load), prints one JSON summary (per
format, size and budget: tokens, training problems drawn, held-out loss, accuracy on our
held-out problems and on Lee et al. 2023's test set), and writes ``arithmetic_formats.png``
(accuracy against training FLOPs and against training problems) and ``summary.json`` to
``--out`` (default: the sweep's ``figures/``).

Lee et al. 2023 ("Teaching Arithmetic to Small Transformers", ICLR 2024, Sec. 4-5 and Fig. 4)
find that, per training example, reversed output beats plain and the detailed scratchpad beats
both. At equal FLOPs the comparison differs: a scratchpad example costs ~5x the tokens of a
plain one, so a run sees ~5x fewer problems. This script reports both views.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd

from scaling.analysis import results

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
    out = df[keep].sort_values(["fmt", "params", "budget_flops"])
    return [{k: (None if pd.isna(v) else v) for k, v in r.items()} for r in out.to_dict("records")]


def figure(df: pd.DataFrame, path: Path) -> None:
    df = df.assign(fmt=df.data_type.str.replace("arith_", "", regex=False))
    sizes = sorted(df.params.unique())
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), constrained_layout=True)
    acc = "acc_lee2023" if "acc_lee2023" in df else "acc_arithmetic"
    for fmt in FORMATS:
        for k, n in enumerate(sizes):
            sub = df[(df.fmt == fmt) & (df.params == n)].sort_values("budget_flops")
            if sub.empty:
                continue
            label = f"{fmt}, {n / 1e3:.0f}k params"
            style = {"color": COLOURS[fmt], "marker": MARKERS[k % 4], "ls": ["-", "--"][k % 2]}
            axes[0].plot(sub.flops, 100 * sub[acc], label=label, **style)
            if "train_documents" in sub:
                axes[1].plot(sub.train_documents, 100 * sub[acc], **style)
    axes[0].set_xlabel("training FLOPs")
    axes[1].set_xlabel("training problems drawn")
    for ax in axes:
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_ylabel("exact-match accuracy (%)")
        ax.set_ylim(-2, 102)
        ax.grid(alpha=0.3, which="both")
    axes[0].set_title("At equal compute")
    axes[1].set_title("At equal number of examples (Lee et al.'s axis)")
    test = "Lee et al. 2023 3-digit test set" if acc == "acc_lee2023" else "held-out problems"
    fig.suptitle(f"Addition formats: greedy accuracy on {test}")
    fig.legend(loc="outside right center", fontsize=8)
    fig.savefig(path, dpi=150)
    plt.close(fig)


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
    figure(df, out / "arithmetic_formats.png")
    (out / "summary.json").write_text(json.dumps(rows, indent=1) + "\n")
    print(json.dumps(rows, indent=1))
    print(f"wrote {out / 'arithmetic_formats.png'} and {out / 'summary.json'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
