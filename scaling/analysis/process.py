"""Process vs output: a trace arm against its outputs-only twin on the same problems. No torch.

The two arms render the same generated problems (``rates.process_pairs``), one with its
process written down, one with the answer alone. They share the verified task (greedy decoding
from the problem alone, each answer checked by its generator's verifier, on held-out problems
neither arm trained on), so their accuracies compare directly:

- per budget and model size, the accuracy pooled over seeds (correct answers summed over runs,
  n summed: the problems are the same for every seed, so this interval counts problems, not
  seeds; the seed-to-seed spread is reported beside it when a point has several seeds);
- per budget, each arm's best size, and the difference trace - outputs with the Newcombe
  hybrid-score interval for a difference of two independent proportions (Newcombe 1998,
  "Interval estimation for the difference between independent proportions", Stat. Med.
  17:873, method 10: built from the two Wilson intervals).

Picking the best of several sizes favours the arm with more noise a little; both arms pick among
the same sizes, and the per-size table is in the result so a reader can check the best is not a
lone outlier.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from scaling.analysis.estimate import Estimate, Result, Undetermined
from scaling.analysis.exchange import accuracy_estimate, wilson
from scaling.analysis.rates import process_pairs
from scaling.core.errors import UserError

__all__ = ["ProcessPoint", "newcombe", "pooled_accuracy", "process_contrasts"]


def newcombe(p1: float, n1: float, p2: float, n2: float) -> tuple[float, float]:
    """95% interval of p1 - p2 (Newcombe 1998, method 10, from the Wilson intervals)."""
    l1, u1 = wilson(p1, n1)
    l2, u2 = wilson(p2, n2)
    d = p1 - p2
    lo = d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    hi = d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return max(-1.0, lo), min(1.0, hi)


def pooled_accuracy(df: pd.DataFrame, task: str) -> pd.DataFrame:
    """Per (data_type, budget_flops, model): accuracy pooled over seeds, n summed, the mean
    FLOPs, the number of seeds and the seed-to-seed standard deviation of the accuracy."""
    col, ncol = f"acc_{task}", f"task_n_{task}"
    g = df.dropna(subset=[col, ncol]).assign(_k=lambda x: x[col] * x[ncol])
    out = g.groupby(["data_type", "budget_flops", "model"], as_index=False).agg(
        correct=("_k", "sum"),
        n=(ncol, "sum"),
        flops=("flops", "mean"),
        params=("params", "mean"),
        seeds=(col, "size"),
        seed_sd=(col, "std"),
    )
    out["accuracy"] = out.correct / out.n
    return out


@dataclass(frozen=True)
class ProcessPoint:
    """One budget: each arm's best size and accuracy, and the difference trace - outputs."""

    flops: float
    trace_model: str
    outputs_model: str
    trace: Result
    outputs: Result
    difference: Result
    seeds: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "flops": self.flops,
            "trace_model": self.trace_model,
            "outputs_model": self.outputs_model,
            "trace": self.trace.to_dict(),
            "outputs": self.outputs.to_dict(),
            "difference": self.difference.to_dict(),
            "seeds": self.seeds,
        }


def _points(pooled: pd.DataFrame, outputs: str, trace: str) -> list[ProcessPoint]:
    best = pooled.loc[pooled.groupby(["data_type", "budget_flops"]).accuracy.idxmax()]
    points = []
    for b in sorted(set(best.budget_flops)):
        here = best[best.budget_flops == b].set_index("data_type")
        if trace not in here.index or outputs not in here.index:
            continue
        t, o = here.loc[trace], here.loc[outputs]
        lo, hi = newcombe(float(t.accuracy), float(t.n), float(o.accuracy), float(o.n))
        diff = Estimate(
            float(t.accuracy - o.accuracy),
            lo,
            hi,
            unit="",
            method="newcombe",
            n_samples=int(t.n + o.n),
        )
        points.append(
            ProcessPoint(
                flops=float(b),
                trace_model=str(t.model),
                outputs_model=str(o.model),
                trace=accuracy_estimate(float(t.accuracy), float(t.n)),
                outputs=accuracy_estimate(float(o.accuracy), float(o.n)),
                difference=diff,
                seeds=int(min(t.seeds, o.seeds)),
            )
        )
    return points


# what the contrasts read of each run (besides its acc_<task> and task_n_<task> columns)
RUN_COLUMNS = ("data_type", "budget_flops", "model", "flops", "params")


def _check_runs(df: Any) -> None:
    """``UserError`` unless ``df`` is the frame of ``scaling.results.load`` with the columns
    the contrasts read (a frame of one rendering only has no pair, and gives none)."""
    if not isinstance(df, pd.DataFrame):
        raise UserError(
            f"process_contrasts: expected the DataFrame of scaling.results.load(path), got "
            f"{type(df).__name__}"
        )
    if "data_form" not in df or "data_problems" not in df:
        return
    missing = [c for c in RUN_COLUMNS if c not in df.columns]
    if missing:
        raise UserError(
            f"process_contrasts: the frame has no {missing[0]!r} column; it needs "
            f"{', '.join(RUN_COLUMNS)} (as scaling.results.load gives them)"
        )


def process_contrasts(df: pd.DataFrame) -> list[dict[str, Any]]:
    """For every process-vs-output pair and every verified task both arms were scored on: the
    per-budget comparison (``ProcessPoint``), the per-size pooled table, and the headline at the
    largest budget both arms reached (or why there is none)."""
    _check_runs(df)
    out = []
    for outputs, trace in process_pairs(df):
        pair = df[df.data_type.isin([outputs, trace])]
        tasks = [
            c[4:]
            for c in pair.columns
            if c.startswith("acc_") and f"task_n_{c[4:]}" in pair and pair[c].notna().all()
        ]
        for task in tasks:
            pooled = pooled_accuracy(pair, task)
            points = _points(pooled, outputs, trace)
            headline: Result = (
                points[-1].difference
                if points
                else Undetermined(
                    "no budget has runs of both arms", f"train {trace} and {outputs} together"
                )
            )
            out.append(
                {
                    "outputs": outputs,
                    "trace": trace,
                    "task": task,
                    "points": points,
                    "headline": headline,
                    "headline_flops": points[-1].flops if points else math.nan,
                    "per_size": pooled.replace({np.nan: None}).to_dict(orient="records"),
                }
            )
    return out
