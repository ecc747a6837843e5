"""The smoke sweep, trained once per test session (killed partway and relaunched), then reused by
every end-to-end test that needs a finished sweep."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers import launch, run_cli


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


def _launch_and_kill(cmd: list[str], out: Path, cache: str) -> int:
    """Launch, then SIGKILL the whole process group once >= 4 runs are done and one is resumable.
    The group is frozen (SIGSTOP) before looking, so what is seen is what the kill leaves: a run
    that finishes between a look and the kill deletes its checkpoint (the flake of issue 14)."""
    proc = launch(cmd, cache=cache, new_session=True)
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
    cmd = ["scaling-train", "experiment=smoke", f"runtime.out_dir={out}"]
    killed_done = _launch_and_kill(
        [*cmd, "hydra.callbacks={}", "runtime.checkpoint_minutes=0.002"], out, data_cache
    )
    relaunch = run_cli(cmd, cache=data_cache, check=True)
    return SmokeSweep(out, killed_done, relaunch)
