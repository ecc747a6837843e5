"""Shared fixtures: a per-session data cache, the anchors folder, Hydra composition, and the smoke
sweep (trained once per test session, killed partway and relaunched, then reused)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
ANCHORS = REPO.parent / "shared" / "anchors"

os.environ.setdefault("WANDB_MODE", "disabled")


@pytest.fixture(scope="session", autouse=True)
def data_cache(tmp_path_factory):
    """One data cache for the whole session (mined docs are reused across tests)."""
    path = os.environ.get("SCALING_TEST_CACHE_DIR") or str(tmp_path_factory.mktemp("cache"))
    os.environ["SCALING_CACHE_DIR"] = path
    return path


@pytest.fixture
def compose():
    """compose(overrides) -> DictConfig of configs/train.yaml, as scaling-train builds it."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from scaling.cli.config import CONFIG_DIR, register_schema

    register_schema()

    def _compose(overrides=(), return_hydra_config=False):
        GlobalHydra.instance().clear()
        with initialize_config_dir(version_base="1.3", config_dir=str(CONFIG_DIR)):
            return hydra_compose(
                "train", overrides=list(overrides), return_hydra_config=return_hydra_config
            )

    yield _compose
    GlobalHydra.instance().clear()


def tiny_run(**changes):
    """A RunConfig that trains in about a second: toy model, Python's own docs, tiny evals."""
    from scaling.core.config import (
        BudgetConfig,
        DataConfig,
        EvalConfig,
        ModelConfig,
        OptimConfig,
        RunConfig,
        RuntimeConfig,
        SourceConfig,
    )

    web = SourceConfig(kind="installed_docs", packages=["stdlib"])
    run = RunConfig(
        name="test",
        model=ModelConfig(name="toy", n_layer=1, d_model=16, n_head=2, context=32),
        data=changes.pop("data", DataConfig(name="web", mixture={"web": web})),
        budget=BudgetConfig(flops=changes.pop("flops", 2e8)),
        optim=changes.pop("optim", OptimConfig(batch_size=4)),
        eval=changes.pop(
            "eval",
            EvalConfig(
                domains={"web": web},
                tasks={},
                tokens_per_domain=256,
                final_tokens_per_domain=512,
                points=2,
            ),
        ),
        runtime=RuntimeConfig(out_dir=str(changes.pop("out_dir", "runs/test")), progress="none"),
        **changes,
    )
    return run


@dataclass
class SmokeSweep:
    """``experiment=smoke`` trained once: ``killed_done`` results were on disk when the first launch
    was SIGKILLed (launcher and every worker) with a resumable checkpoint; ``relaunch`` is the
    completed second launch of the same sweep (with the sweep-end analysis callback)."""

    out: Path
    killed_done: int
    relaunch: subprocess.CompletedProcess


def _resumable(out: Path) -> list[Path]:
    """Runs with a checkpoint on disk and no result yet."""
    return [p for p in out.glob("*/checkpoint.pt") if not (p.parent / "result.json").exists()]


def _launch_and_kill(cmd: list[str], out: Path, env: dict[str, str]) -> int:
    """Launch, then SIGKILL the whole process group once >= 4 runs are done and one is resumable.
    The group is frozen (SIGSTOP) before looking, so what is seen is what the kill leaves: a run
    that finishes between a look and the kill deletes its checkpoint (the flake of issue 14)."""
    proc = subprocess.Popen(
        cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    deadline, frozen = time.time() + 300, False
    while time.time() < deadline and proc.poll() is None:
        if len(list(out.glob("*/result.json"))) >= 4 and _resumable(out):
            os.killpg(proc.pid, signal.SIGSTOP)
            if _resumable(out):
                frozen = True
                break
            os.killpg(proc.pid, signal.SIGCONT)
        time.sleep(0.05)
    assert frozen, "the sweep finished before it could be killed with a checkpoint on disk"
    os.killpg(proc.pid, signal.SIGKILL)  # the launcher and every worker
    proc.wait()
    return len(list(out.glob("*/result.json")))


@pytest.fixture(scope="session")
def smoke_sweep(tmp_path_factory, data_cache) -> SmokeSweep:
    out = tmp_path_factory.mktemp("smoke") / "runs"
    env = {**os.environ, "WANDB_MODE": "disabled", "SCALING_CACHE_DIR": data_cache}
    cmd = [str(Path(sys.executable).parent / "scaling-train"), "experiment=smoke"]
    cmd.append(f"runtime.out_dir={out}")
    killed_done = _launch_and_kill(
        [*cmd, "hydra.callbacks={}", "runtime.checkpoint_minutes=0.002"], out, env
    )
    relaunch = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    assert relaunch.returncode == 0, relaunch.stderr[-3000:]
    return SmokeSweep(out, killed_done, relaunch)
