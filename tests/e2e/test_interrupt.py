"""Ctrl-C on a packed sweep (issue 14, item 6): one line saying what finished, what was
interrupted and how to resume; ``scaling status`` then shows no run as running, progress from
each run's last checkpoint and no ETA; the relaunch finishes every grid point exactly once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import torch

from tests.e2e.test_launchers import SMALL, _complete, _grid
from tests.helpers import launch, run_cli

ARGS = [
    *SMALL,
    "budget.flops=2e9,6e9",
    "hydra/launcher=parallel",
    "runtime.checkpoint_minutes=0.002",
]


def _wait_for_checkpoint(out: Path, proc: subprocess.Popen, timeout_s: float = 300) -> None:
    """Poll (no fixed sleep) until a run that has not finished holds a checkpoint."""
    deadline = time.time() + timeout_s
    while time.time() < deadline and proc.poll() is None:
        if any(not (p.parent / "result.json").exists() for p in out.glob("*/checkpoint.pt")):
            return
        time.sleep(0.05)
    raise AssertionError("the sweep ended before a run had written a checkpoint")


def test_ctrl_c_stops_a_sweep_with_one_line_and_the_relaunch_completes(tmp_path, data_cache):
    out = tmp_path / "runs"
    cmd = ["scaling-train", "-m", f"runtime.out_dir={out}", *ARGS]
    proc = launch(cmd, cache=data_cache, new_session=True, stderr=subprocess.PIPE)
    _wait_for_checkpoint(out, proc)
    os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C sends: the whole group
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err[-3000:]
    assert "Traceback" not in err, err[-3000:]
    ending = [line for line in err.splitlines() if line.startswith("interrupted:")]
    assert len(ending) == 1, err[-3000:]
    assert "runs done" in ending[0] and "resume with: scaling-train -m" in ending[0]

    status = run_cli(["scaling", "status", out], check=True).stdout
    assert "finish in about" not in status  # nothing runs after the interrupt
    assert " running " not in status
    for ckpt in out.glob("*/checkpoint.pt"):  # progress is where the relaunch resumes
        step = torch.load(ckpt, weights_only=True)["step"]
        row = next(line for line in status.splitlines() if line.startswith(ckpt.parent.name))
        assert f" {step}/" in row, (row, step)
        assert json.loads((ckpt.parent / "status.json").read_text())["checkpoint_step"] == step

    again = run_cli(cmd, cache=data_cache, check=True)
    recs = _complete(out)
    assert _grid(recs) == sorted(("web", m, f) for m in ("xxxs", "xxs") for f in (2e9, 6e9)), (
        again.stderr[-2000:]
    )
    assert not list(out.glob("*/checkpoint.pt"))
