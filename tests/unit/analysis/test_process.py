"""Process vs output: the pairing of a trace arm with its outputs-only twin, Newcombe's interval
for the accuracy difference, seed pooling, and the verdict's sentences."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from scaling.analysis.process import newcombe, pooled_accuracy, process_contrasts
from scaling.analysis.rates import process_pairs
from scaling.runs.record import data_rendering
from tests.text_checks import bare_numbers


def _data(form: str, key: str = "frontier", **extra) -> dict:
    src = {"kind": "generator", "generator": "mix", "form": form, "weight": 1.0, "params": {}}
    return {"mixture": {key: {**src, **extra}}, "unique_tokens": None}


@pytest.mark.parametrize(
    ("p1", "n1", "p2", "n2", "lo", "hi"),
    [  # Newcombe 1998, Stat. Med. 17:873, Table II, method 10
        (56 / 70, 70, 48 / 80, 80, 0.0524, 0.3339),
        (9 / 10, 10, 3 / 10, 10, 0.1705, 0.8090),
    ],
)
def test_newcombe_matches_the_published_table(p1, n1, p2, n2, lo, hi):
    got = newcombe(p1, n1, p2, n2)
    assert got == pytest.approx((lo, hi), abs=1e-4)


def test_rendering_pairs_a_trace_arm_with_its_outputs_only_twin():
    f_trace, k_trace = data_rendering(_data("trace"))
    f_out, k_out = data_rendering(_data("outputs_only", key="outputs"))
    assert (f_trace, f_out) == ("trace", "outputs_only")
    assert k_trace == k_out  # source names and forms do not enter the problems key
    _, other = data_rendering(_data("outputs_only", params={"of": ["igsm"]}))
    assert other != k_trace
    assert data_rendering({"mixture": {"web": {"kind": "installed_docs"}}}) == (None, None)


def _runs(acc_trace, acc_out, seeds=(0,), n=256, budgets=(1e11, 1e12)):
    rows = []
    for b in budgets:
        for model, scale in (("s", 0.8), ("m", 1.0)):
            for seed in seeds:
                for dt, form, acc in (
                    ("frontier", "trace", acc_trace),
                    ("outputs_only", "outputs_only", acc_out),
                ):
                    rows.append(
                        {
                            "data_type": dt,
                            "data_form": form,
                            "data_problems": "p1",
                            "budget_flops": b,
                            "flops": b,
                            "params": 1e4,
                            "model": model,
                            "seed": seed,
                            "acc_frontier": acc(b) * scale,
                            "task_n_frontier": n,
                        }
                    )
    rows.append({"data_type": "web", "budget_flops": 1e11, "flops": 1e11, "model": "s", "seed": 0})
    return pd.DataFrame(rows)


def test_pairs_are_found_from_the_records_columns():
    df = _runs(lambda b: 0.5, lambda b: 0.1)
    assert process_pairs(df) == [("outputs_only", "frontier")]
    assert process_pairs(df.drop(columns=["data_form"])) == []


def test_contrast_picks_each_arms_best_size_and_pools_seeds():
    df = _runs(lambda b: 0.5 if b > 5e11 else 0.2, lambda b: 0.1, seeds=(0, 1))
    pooled = pooled_accuracy(df[df.data_type != "web"], "frontier")
    row = pooled[
        (pooled.data_type == "frontier") & (pooled.model == "m") & (pooled.budget_flops == 1e12)
    ]
    assert int(row.n.iloc[0]) == 512 and int(row.seeds.iloc[0]) == 2
    (c,) = process_contrasts(df)
    assert (c["trace"], c["outputs"], c["task"]) == ("frontier", "outputs_only", "frontier")
    top = c["points"][-1]
    assert top.flops == 1e12 and top.trace_model == "m" and top.seeds == 2
    assert top.difference.value == pytest.approx(0.4)
    assert top.difference.lo > 0.3 and top.difference.hi < 0.5
    assert c["headline"] is top.difference


def test_equal_arms_give_an_interval_that_contains_zero():
    (c,) = process_contrasts(_runs(lambda b: 0.3, lambda b: 0.3))
    d = c["headline"]
    assert d.lo < 0 < d.hi and math.isclose(d.value, 0.0, abs_tol=1e-12)


def test_the_verdict_states_the_contrast_with_intervals_only():
    from scaling.analysis import verdict_text

    v = {"process_vs_output": process_contrasts(_runs(lambda b: 0.45, lambda b: 0.05))}
    text = verdict_text.process_statement(v["process_vs_output"][0])
    clause = verdict_text.process_clause(v["process_vs_output"][0])
    assert "Newcombe" in text and "`frontier`" in clause and "points" in clause
    assert bare_numbers(text) == [] and bare_numbers(clause) == []


def test_a_missing_arm_at_every_budget_is_undetermined():
    df = _runs(lambda b: 0.4, lambda b: 0.1)
    df = df[~((df.data_type == "outputs_only") & (df.budget_flops == 1e12))]
    df.loc[df.data_type == "frontier", "budget_flops"] = 1e12
    (c,) = process_contrasts(df)
    assert c["points"] == [] and c["headline"].reason.startswith("no budget")
    assert np.isnan(c["headline_flops"])
