"""Sweeps through real launchers, killed and relaunched, and launched twice at once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from scaling.analysis import results

BIN = Path(sys.executable).parent
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


def _env(cache):
    return {**os.environ, "WANDB_MODE": "disabled", "SCALING_CACHE_DIR": cache}


def _sweep(out, cache, *extra, **kw):
    return subprocess.run(
        [str(BIN / "scaling-train"), "-m", f"runtime.out_dir={out}", *SMALL, *extra],
        capture_output=True,
        text=True,
        env=_env(cache),
        timeout=600,
        **kw,
    )


def _complete(out: Path) -> list[dict]:
    recs = [json.loads(p.read_text()) for p in out.glob("*/result.json")]
    assert all(r["status"] == "done" for r in recs)
    return recs


@pytest.mark.parametrize("launcher", ["parallel", "subprocess"])
def test_multirun_through_launcher(tmp_path, data_cache, launcher):
    proc = _sweep(tmp_path / "runs", data_cache, f"hydra/launcher={launcher}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    recs = _complete(tmp_path / "runs")
    assert len(recs) == 4 and len({r["run_id"] for r in recs}) == 4
    assert all(r["threads"] == 1 for r in recs)


def test_killed_sweep_relaunch_leaves_one_complete_result_per_point(smoke_sweep):
    """The session's smoke sweep was SIGKILLed partway and relaunched (tests/conftest.py)."""
    out, again = smoke_sweep.out, smoke_sweep.relaunch
    assert smoke_sweep.killed_done < 18
    recs = _complete(out)
    assert len(recs) == 18 and len({r["run_id"] for r in recs}) == 18
    assert again.stderr.count("done already, skipped") >= smoke_sweep.killed_done
    assert "resuming from step" in again.stderr
    assert not list(out.glob("*/checkpoint.pt"))
    assert not list(out.glob("*/.*.tmp"))  # no half-written files survive


def test_same_sweep_launched_twice_at_once_trains_each_run_once(tmp_path, data_cache):
    out = tmp_path / "runs"
    cmd = [
        str(BIN / "scaling-train"),
        "-m",
        f"runtime.out_dir={out}",
        *SMALL,
        "model=xxxs,xxs,xs,s",
        "hydra/launcher=local",
    ]
    procs = [
        subprocess.Popen(
            cmd, env=_env(data_cache), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    errs = [p.communicate(timeout=600)[1] for p in procs]
    assert all(p.returncode == 0 for p in procs), errs
    recs = _complete(out)
    assert len(recs) == 8
    trained = sum(e.count("] trained:") for e in errs)
    assert trained == 8, errs  # every grid point trained by exactly one of the two sweeps
    assert results.load(out).run_id.is_unique


def test_ray_launcher_when_installed(tmp_path, data_cache):
    pytest.importorskip("ray")
    pytest.importorskip("hydra_plugins.hydra_ray_launcher")
    proc = _sweep(
        tmp_path / "runs", data_cache, "hydra/launcher=ray", "hydra.launcher.ray.init.num_cpus=2"
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert len(_complete(tmp_path / "runs")) == 4


@pytest.mark.parametrize(
    "preset, target",
    [
        ("local", "BasicLauncher"),
        ("parallel", "JoblibLauncher"),
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
