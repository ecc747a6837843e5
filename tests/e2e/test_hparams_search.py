"""hparams_search=lr_optuna: Hydra's Optuna sweeper drives scaling-train through the pack
launcher; each trial is an ordinary run whose objective (held-out loss) the sweeper reads."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import yaml

from tests.helpers import run_cli

pytest.importorskip("hydra_plugins.hydra_optuna_sweeper", reason='pip install ".[hpo]"')

TRIALS = 4


def _search(out: Path, cache: str, *extra: str):
    cmd = [
        "scaling-train",
        "hparams_search=lr_optuna",
        "debug=toy",
        "model=xxxs",
        "data=smoke_web",
        "budget.flops=2e8",
        f"hydra.sweeper.n_trials={TRIALS}",
        "hydra.sweeper.n_jobs=2",
        "hydra.sweeper.sampler.n_startup_trials=2",
        f"runtime.out_dir={out}",
        "name=lr_search",
        *extra,
    ]
    return run_cli(cmd, cache=cache, check=True)


def _records(out: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(out.glob("*/result.json"))]


def test_optuna_search_trains_each_trial_as_a_run_and_reports_the_best(tmp_path, data_cache):
    out = tmp_path / "search"
    first = _search(out, data_cache)
    records = _records(out)
    assert 2 <= len(records) <= TRIALS  # TPE may ask a point twice: one run, read back
    lrs = {r["config"]["optim"]["lr"] for r in records}
    assert len(lrs) == len(records)
    assert all(6e-4 <= lr <= 6e-2 for lr in lrs)
    assert {r["batch_size"] for r in records} <= {2, 4, 8}
    result = yaml.safe_load((out / "optimization_results.yaml").read_text())
    best = min(records, key=lambda r: r["loss"])
    assert math.isclose(result["best_value"], best["loss"], rel_tol=1e-12)
    assert math.isclose(result["best_params"]["optim.lr"], best["config"]["optim"]["lr"])
    assert "search: best loss = " in first.stderr
    assert f"{best['loss']:.4f}" in first.stderr
    assert "Traceback" not in first.stderr
    assert (out / "runs.parquet").exists()
    assert not (out / "fits.json").exists()  # no scaling law fitted across LR trials

    # the same study relaunched (seeded sampler) asks the same points: every run is read back
    again = _search(out, data_cache)
    assert [r["run_id"] for r in _records(out)] == [r["run_id"] for r in records]
    assert "trained:" not in again.stderr
    assert yaml.safe_load((out / "optimization_results.yaml").read_text()) == result


def test_objective_must_name_a_tidy_row_column(tmp_path, data_cache):
    proc = run_cli(
        [
            "scaling-train",
            "debug=toy",
            "model=xxxs",
            "data=smoke_web",
            "budget.flops=2e8",
            "runtime.objective=val_nope_loss",
            f"runtime.out_dir={tmp_path / 'x'}",
        ],
        cache=data_cache,
    )
    assert proc.returncode == 2
    assert "runtime.objective: 'val_nope_loss' is not one of loss, bpb, train_loss" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "x").exists()


def test_plan_of_a_search_says_there_is_no_grid_to_list(tmp_path):
    proc = run_cli(["scaling", "plan", "hparams_search=lr_optuna", "model=s", "--no-calibrate"])
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "error: hydra.sweeper: a search (Optuna, 16 trials) picks its points as it runs, so "
        "there is no grid to list; plan one trial with the same overrides minus hparams_search=..."
    ]


def test_a_search_without_the_optuna_sweeper_says_how_to_install_it(monkeypatch):
    import importlib.util

    from scaling.cli import train
    from scaling.core.errors import UserError

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "hydra_plugins.hydra_optuna_sweeper" else real(name, *a),
    )
    with pytest.raises(UserError, match=r"pip install 'scaling-lab\[hpo\]'"):
        train._check_extras(["hparams_search=lr_optuna", "model=s"])
    train._check_extras(["model=s"])  # nothing asked of the extra: nothing said
