"""Data as a sweep axis, end to end: the data_constrained and correction_modes experiments run
as Hydra multiruns (sequential launcher, toy model and evaluation) into a temporary directory.

A finite pool of unique tokens must be repeated for epochs > 1 and recorded; every correction
mode must record the expert cost of the traces its run consumed, with the orderings the
pipeline implies (raw costs no expert time; correcting costs more than only checking answers).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from scaling.analysis import results
from tests.helpers import run_cli

TOY = ["hydra/launcher=local", "debug=toy", "data=smoke_frontier", "model=xxxs"]


def _sweep(experiment: str, out: Path, cache: str, *overrides: str) -> None:
    cmd = ["scaling-train", f"experiment={experiment}", *TOY, *overrides]
    run_cli([*cmd, f"runtime.out_dir={out}"], cache=cache, check=True)


@pytest.fixture(scope="module")
def constrained(tmp_path_factory, data_cache):
    out = tmp_path_factory.mktemp("constrained") / "runs"
    _sweep("data_constrained", out, data_cache, "budget.flops=2e9", "data.unique_tokens=3000,null")
    return results.load(out)


@pytest.fixture(scope="module")
def corrected(tmp_path_factory, data_cache):
    out = tmp_path_factory.mktemp("corrected") / "runs"
    _sweep(
        "correction_modes",
        out,
        data_cache,
        "budget.flops=6e8",
        "data.mixture.frontier.correction.epsilon=0.3",
    )
    return results.load(out)


def test_unique_token_pool_is_repeated_for_epochs(constrained):
    assert len(constrained) == 2
    capped = constrained[constrained.unique_tokens < 10_000].iloc[0]
    fresh = constrained[constrained.unique_tokens >= 10_000].iloc[0]
    assert capped.tokens == fresh.tokens  # the same budget, so the same tokens processed
    assert capped.epochs > 10  # ~86k tokens from a ~3k-token pool
    assert capped.epochs == pytest.approx(capped.tokens / capped.unique_tokens, rel=0.01)
    assert fresh.epochs == pytest.approx(1.0)
    assert capped.unique_tokens == pytest.approx(3000, rel=0.05)


def test_every_correction_mode_records_its_data_cost(corrected):
    modes = ["raw", "outcome_filter", "process_correction", "retry_kept"]
    assert sorted(corrected.data_type) == sorted(f"frontier_{m}" for m in modes)
    by = corrected.set_index("data_type")
    for m in modes:
        row = by.loc[f"frontier_{m}"]
        assert row.data_cost_traces > 0 and row.data_cost_tokens > 0, m
        if m != "raw":  # every other mode spends expert time checking or fixing traces
            assert row.data_cost_expert_seconds > 0, m
    assert by.loc["frontier_raw", "data_cost_expert_seconds"] == 0
    per_trace = by.data_cost_expert_seconds_per_kept_trace
    assert per_trace["frontier_process_correction"] > per_trace["frontier_outcome_filter"] > 0
    # corrupted steps (epsilon 0.3) get caught and fixed: interventions are counted
    assert by.loc["frontier_process_correction", "data_cost_interventions_per_1000_steps"] > 0
    assert by.loc["frontier_raw", "data_cost_interventions_per_1000_steps"] == 0
