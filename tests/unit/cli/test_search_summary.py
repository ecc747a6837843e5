"""The end-of-search summary's edge check and the objective a run returns to a sweeper."""

from __future__ import annotations

import math

import pytest

from scaling.cli.search_summary import edge_warnings
from scaling.core.config import RunConfig, RuntimeConfig
from scaling.core.errors import UserError
from scaling.runs.record import objective_value

PARAMS = {"optim.lr": "tag(log, interval(6e-4, 6e-2))", "optim.batch_size": "choice(2, 4, 8)"}


@pytest.mark.parametrize(
    ("lr", "at_edge"),
    [(6e-3, False), (6e-4, True), (5.9e-2, True), (1.0e-3, False), (0.9e-3, True)],
)
def test_edge_is_measured_on_the_log_scale_of_a_log_range(lr, at_edge):
    # log10 range [-3.22, -1.22]: 10% of it is 0.2 decades; 1e-3 sits 0.22 decades in, 9e-4 0.18
    warnings = edge_warnings({"optim.lr": lr, "optim.batch_size": 2}, PARAMS)
    assert bool(warnings) is at_edge
    assert all("optim.lr" in w for w in warnings)


def test_linear_range_and_choices():
    params = {"optim.warmup_fraction": "interval(0.0, 0.2)", "optim.batch_size": "choice(2, 4)"}
    assert edge_warnings({"optim.warmup_fraction": 0.1, "optim.batch_size": 4}, params) == []
    assert edge_warnings({"optim.warmup_fraction": 0.19}, params) != []


def _record(**over):
    rec = {
        "run_id": "r",
        "loss": 2.5,
        "train_loss": 2.4,
        "bpb": 1.1,
        "val": {"web": {"loss": 2.5, "bpb": 1.1}, "trace": {"loss": 0.7, "bpb": 0.3}},
        "task": {"arithmetic": {"accuracy": 0.25, "n": 16}},
    }
    rec.update(over)
    return rec


def test_objective_value_reads_tidy_row_columns():
    rec = _record()
    assert objective_value(rec, "loss") == 2.5
    assert objective_value(rec, "val_trace_loss") == 0.7
    assert objective_value(rec, "acc_arithmetic") == 0.25
    assert math.isnan(objective_value(None, "loss"))  # refused or failed: a failed trial
    assert math.isnan(objective_value(_record(loss=None), "loss"))


def test_objective_is_validated_against_the_runs_domains_and_tasks():
    RunConfig(runtime=RuntimeConfig(objective="val_web_bpb"))
    with pytest.raises(UserError, match=r"runtime\.objective: 'acc_nope' is not one of"):
        RunConfig(runtime=RuntimeConfig(objective="acc_nope"))
