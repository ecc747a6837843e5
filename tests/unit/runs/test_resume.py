"""Resume: a run killed after a checkpoint continues to the same numbers; locks exclude."""

from __future__ import annotations

import json
import os
import signal
import textwrap
import time

from scaling.analysis import results
from scaling.runs import identity, state
from scaling.runs.lock import RunLock
from scaling.runs.runner import execute
from tests.conftest import tiny_run
from tests.helpers import launch, run_cli


def _kill_after_first_checkpoint(out_dir, flops):
    """Run tiny_run in a child process and SIGKILL it once a checkpoint exists."""
    code = textwrap.dedent(f"""
        import sys; sys.path.insert(0, {str(os.getcwd())!r})
        from tests.conftest import tiny_run
        from scaling.runs.runner import execute
        execute(tiny_run(flops={flops}, out_dir={str(out_dir)!r}))
    """)
    proc = launch(["python", "-c", code], stdout=None, stderr=None)
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if list(out_dir.glob("*/checkpoint.pt")):
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return proc


def test_killed_run_resumes_to_the_same_loss(tmp_path):
    flops = 6e8
    _kill_after_first_checkpoint(tmp_path / "a", flops)
    run_dir = next((tmp_path / "a").iterdir())
    assert (run_dir / "checkpoint.pt").exists()
    assert not (run_dir / "result.json").exists()
    assert state.run_state(run_dir) == "interrupted"  # status says running; holder is dead
    resumed = execute(tiny_run(flops=flops, out_dir=tmp_path / "a"))
    fresh = execute(tiny_run(flops=flops, out_dir=tmp_path / "b"))
    assert resumed["resumed_from_step"] > 0
    assert resumed["run_id"] == fresh["run_id"]
    assert abs(resumed["loss"] - fresh["loss"]) < 1e-4
    # the resumed record holds one curve without duplicated steps
    steps = [
        r["step"]
        for r in map(json.loads, (run_dir / "metrics.jsonl").read_text().splitlines())
        if r["kind"] == "train"
    ]
    assert steps == sorted(set(steps))
    assert not (run_dir / "checkpoint.pt").exists()
    assert not (run_dir / "lock").exists()


def test_lock_excludes_a_live_holder_and_takes_over_a_dead_one(tmp_path):
    a = RunLock(tmp_path)
    assert a.acquire()
    b = RunLock(tmp_path)
    assert not b.acquire() and b.holder["pid"] == os.getpid()
    a.release()
    dead = run_cli(["python", "-c", "import os; print(os.getpid())"], check=True).stdout.strip()
    (tmp_path / "lock").write_text(json.dumps({"host": os.uname().nodename, "pid": int(dead)}))
    c = RunLock(tmp_path)
    assert c.acquire()
    c.release()
    assert not (tmp_path / "lock").exists()


def test_run_held_elsewhere_is_skipped(tmp_path, capsys):
    run = tiny_run(out_dir=tmp_path)
    rid = identity.run_id(run.to_dict())
    holder = RunLock(tmp_path / rid)
    assert holder.acquire()
    assert execute(run) is None
    assert "held by" in capsys.readouterr().err
    holder.release()
    assert execute(run)["status"] == "done"


def test_diverged_run_is_marked_failed_and_skipped_unless_asked(tmp_path):
    from scaling.core.config import OptimConfig

    run = tiny_run(
        out_dir=tmp_path,
        optim=OptimConfig(batch_size=4, lr=1e4, grad_clip=0.0, warmup_fraction=0.0),
    )
    assert execute(run) is None
    df = results.load(tmp_path, include_failed=True)
    assert list(df.status) == ["failed"] and df.reason[0].startswith("diverged")
    assert results.load(tmp_path).empty  # analysis never sees a failed run
    assert execute(run) is None  # skipped, not retried
    run.runtime.rerun_failed = True
    assert execute(run) is None  # retried, fails again, still recorded
    assert not (tmp_path / identity.run_id(run.to_dict()) / "result.json").exists()


def test_a_checkpoint_left_beside_a_result_is_removed_on_relaunch(tmp_path, caplog):
    """A kill between publishing result.json and removing checkpoint.pt (the window behind the
    smoke sweep's stale checkpoint, issue 14): the relaunch skips the done run and removes it."""
    import logging
    import shutil

    run = tiny_run(flops=6e8, out_dir=tmp_path)
    done = execute(run)
    run_dir = tmp_path / done["run_id"]
    assert "] trained: loss" in (run_dir / "train.log").read_text()
    shutil.copy(run_dir / "model.safetensors", run_dir / "checkpoint.pt")  # a leftover file
    (run_dir / ".status.json.99999.tmp").write_text('{"state": "do')  # a half-written status
    with caplog.at_level(logging.INFO, logger="scaling"):
        again = execute(run)
    assert again == done
    assert not (run_dir / "checkpoint.pt").exists()
    assert not list(run_dir.glob(".*.tmp"))
    assert not (run_dir / "lock").exists()
    assert "removed what a kill left beside its result: .status.json.99999.tmp, checkpoint.pt" in (
        caplog.text
    )
