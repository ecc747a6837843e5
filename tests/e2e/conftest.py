"""The smoke sweep, trained once per test session (killed partway and relaunched), then reused by
every end-to-end test that needs a finished sweep."""

from __future__ import annotations

import json
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


def _session_dir(tmp_path_factory, name: str) -> Path:
    """A directory every pytest-xdist worker of this session shares (the session's base temp
    dir holds one directory per worker), or this process's own without xdist."""
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    path = shared / name
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture(scope="session")
def smoke_sweep(tmp_path_factory, data_cache) -> SmokeSweep:
    """Trained by the first worker that asks, under a file lock; the others read it back.
    (``xdist_group`` alone did not keep the end-to-end tests on one worker: measured in a
    fresh-clone ``make test``, the notebook test trained a second smoke sweep on the other.)"""
    from filelock import FileLock

    root = _session_dir(tmp_path_factory, "smoke-shared")
    saved = root / "sweep.json"
    with FileLock(str(root / "lock")):
        if saved.exists():
            d = json.loads(saved.read_text())
            relaunch = subprocess.CompletedProcess(d["args"], d["rc"], d["stdout"], d["stderr"])
            return SmokeSweep(Path(d["out"]), d["killed_done"], relaunch)
        out = root / "runs"
        cmd = ["scaling-train", "experiment=smoke", f"runtime.out_dir={out}"]
        killed_done = _launch_and_kill(
            [*cmd, "hydra.callbacks={}", "runtime.checkpoint_minutes=0.002"], out, data_cache
        )
        relaunch = run_cli(cmd, cache=data_cache, check=True)
        state = {"out": str(out), "killed_done": killed_done, "args": relaunch.args}
        state.update(rc=relaunch.returncode, stdout=relaunch.stdout, stderr=relaunch.stderr)
        saved.write_text(json.dumps(state))
        return SmokeSweep(out, killed_done, relaunch)
