"""Sweeps through real launchers, killed and relaunched, and launched twice at once."""

from __future__ import annotations

import itertools
import json
import subprocess
from pathlib import Path

import pytest
import yaml

from scaling.analysis import results
from scaling.runs import identity
from tests.helpers import launch, run_cli

SMALL = [
    "data=smoke_web",
    "model=xxxs,xxs",
    "model.context=64",
    "budget.flops=2e8,6e8",
    "eval.tasks={}",
    "~eval.domains.trace",
    "~eval.domains.outputs",
    "eval.tokens_per_domain=256",
    "eval.final_tokens_per_domain=512",
    "optim.batch_size=4",
    "hydra.callbacks={}",
    "eval.domains.web.packages=[stdlib]",
    "runtime.progress=log",
]


def _sweep(out, cache, *extra):
    """The SMALL multirun into ``out``, to completion (a non-zero exit fails the test)."""
    cmd = ["scaling-train", "-m", f"runtime.out_dir={out}", *SMALL, *extra]
    return run_cli(cmd, cache=cache, check=True)


def _complete(out: Path) -> list[dict]:
    """The finished records; each names its directory and is the run its config.yaml hashes to."""
    recs = []
    for p in sorted(out.glob("*/result.json")):
        rec = json.loads(p.read_text())
        assert rec["status"] == "done", p
        config = yaml.safe_load((p.parent / "config.yaml").read_text())
        assert rec["run_id"] == p.parent.name == identity.run_id(config), p
        recs.append(rec)
    return recs


def _grid(recs: list[dict]) -> list[tuple]:
    return sorted((r["data_type"], r["model"], r["budget_flops"]) for r in recs)


@pytest.mark.parametrize("launcher", ["parallel", "subprocess"])
def test_multirun_through_launcher(tmp_path, data_cache, launcher):
    proc = _sweep(tmp_path / "runs", data_cache, f"hydra/launcher={launcher}")
    recs = _complete(tmp_path / "runs")
    # one run per grid point of model=xxxs,xxs x budget.flops=2e8,6e8
    assert _grid(recs) == sorted(itertools.product(["web"], ["xxxs", "xxs"], [2e8, 6e8]))
    assert all(r["threads"] == 1 for r in recs)
    # each run's progress reaches the launching console, from its worker or submitit job log
    for rec in recs:
        assert f"[{rec['run_id']}] step 1/" in proc.stderr, rec["run_id"]
        assert f"[{rec['run_id']}] trained: loss" in proc.stderr, rec["run_id"]
    if launcher == "subprocess":
        jobs = tmp_path / "runs" / ".submitit"
        assert len(list(jobs.glob("*_0_log.err"))) == 4  # one folder, no literal %j
        assert not (jobs / "%j").exists()


def test_killed_sweep_relaunch_leaves_one_complete_result_per_point(smoke_sweep):
    """The session's smoke sweep was SIGKILLed partway and relaunched (tests/e2e/conftest.py):
    its runs train in packs (hydra/launcher=parallel), so this is the kill test of issue 11."""
    out, again = smoke_sweep.out, smoke_sweep.relaunch
    assert smoke_sweep.killed_done < 18
    recs = _complete(out)
    # one run per grid point: 2 data types x 3 models x 3 budgets
    grid = itertools.product(["frontier", "web"], ["xs", "xxs", "xxxs"], [2e8, 6e8, 2e9])
    assert _grid(recs) == sorted(grid)
    # the relaunch skips exactly the runs finished before the kill and trains the others
    assert again.stderr.count("done already, skipped") == smoke_sweep.killed_done
    assert again.stderr.count("] trained:") == 18 - smoke_sweep.killed_done
    assert "resuming from step" in again.stderr
    assert "[pack of " in again.stderr  # the parallel launcher packed the runs left to train
    assert not list(out.glob("*/checkpoint.pt"))
    assert not list(out.glob("*/.*.tmp"))  # no half-written files survive


def test_same_sweep_launched_twice_at_once_trains_each_run_once(tmp_path, data_cache):
    out = tmp_path / "runs"
    cmd = [
        "scaling-train",
        "-m",
        f"runtime.out_dir={out}",
        *SMALL,
        "model=xxxs,xxs,xs",
        "hydra/launcher=local",
    ]
    procs = [launch(cmd, cache=data_cache, stderr=subprocess.PIPE) for _ in range(2)]
    errs = [p.communicate(timeout=600)[1] for p in procs]
    assert all(p.returncode == 0 for p in procs), errs
    recs = _complete(out)
    grid = itertools.product(["web"], ["xxxs", "xxs", "xs"], [2e8, 6e8])
    assert _grid(recs) == sorted(grid)
    trained = sum(e.count("] trained:") for e in errs)
    assert trained == 6, errs  # every grid point trained by exactly one of the two sweeps
    assert results.load(out).run_id.is_unique


def test_ray_launcher_when_installed(tmp_path, data_cache):
    why = "Ray launcher not installed (README, Launchers: the ray install line)"
    pytest.importorskip("ray", reason=why)
    pytest.importorskip("hydra_plugins.hydra_ray_launcher", reason=why)
    # a local Ray (address: null), started and stopped by the sweep; with a cluster running:
    # tests/e2e/test_ray_cluster.py
    _sweep(
        tmp_path / "runs", data_cache, "hydra/launcher=ray", "hydra.launcher.ray.init.num_cpus=2"
    )
    recs = _complete(tmp_path / "runs")
    assert _grid(recs) == sorted(itertools.product(["web"], ["xxxs", "xxs"], [2e8, 6e8]))


@pytest.mark.parametrize(
    "preset, target",
    [
        ("local", "PackLauncher"),
        ("parallel", "PackLauncher"),
        ("subprocess", "LocalLauncher"),
        ("slurm", "SlurmLauncher"),
        ("ray", "RayLauncher"),
    ],
)
def test_launcher_presets_compose(compose, preset, target):
    cfg = compose([f"hydra/launcher={preset}"], return_hydra_config=True)
    assert cfg.hydra.launcher._target_.endswith(target)
    if preset == "slurm":
        for key in ("partition", "timeout_min", "gpus_per_node", "array_parallelism"):
            assert key in cfg.hydra.launcher


def test_hydra_sweep_dir_decides_where_runs_go(tmp_path, data_cache):
    """`hydra.sweep.dir=X`, the usual Hydra override, puts the runs and multirun.yaml in X."""
    out = tmp_path / "elsewhere" / "x"
    cmd = ["scaling-train", "-m", f"hydra.sweep.dir={out}", *SMALL, "hydra/launcher=local"]
    run_cli(cmd, cache=data_cache, check=True, cwd=tmp_path)
    recs = _complete(out)
    assert _grid(recs) == sorted(itertools.product(["web"], ["xxxs", "xxs"], [2e8, 6e8]))
    assert (out / "multirun.yaml").exists()
    assert not (tmp_path / "runs").exists()  # nothing in the default runtime.out_dir
