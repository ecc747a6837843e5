"""A sweep through hydra/launcher=slurm on a real SLURM: one array job, each run a task.

Needs a SLURM that answers: on one machine, as root, ``apt-get install -y slurm-wlm munge`` and
``scripts/slurm_local.sh`` start one (single node, partition ``local``). Skipped when ``sbatch``
is not on PATH or no node is up. ``SCALING_SLURM_PARTITION`` picks the partition (default: the
cluster's default partition). The submitter and the jobs share this filesystem (submitit's
folder, the runs, the data cache) and the jobs run this interpreter (submitit's default python).
"""

from __future__ import annotations

import itertools
import os
import pickle
import shutil
import subprocess
import time
import uuid

import pytest

from tests.e2e.test_launchers import SMALL, _complete, _grid
from tests.helpers import launch, run_cli

UP = ("idle", "mixed", "allocated", "completing")


def _sinfo(fmt: str) -> list[str]:
    try:
        proc = subprocess.run(
            ["sinfo", "-h", "-o", fmt], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return []
    return proc.stdout.split() if proc.returncode == 0 else []


def _partition() -> str | None:
    """SCALING_SLURM_PARTITION, else the default partition (sinfo marks it with '*')."""
    if os.environ.get("SCALING_SLURM_PARTITION"):
        return os.environ["SCALING_SLURM_PARTITION"]
    parts = _sinfo("%P")
    default = [p.rstrip("*") for p in parts if p.endswith("*")]
    return (default or [p.rstrip("*") for p in parts] or [None])[0]


def _skip_reason() -> str | None:
    if shutil.which("sbatch") is None:
        return "SLURM not installed (no sbatch on PATH): apt-get install -y slurm-wlm munge"
    states = _sinfo("%T")
    if not any(s.rstrip("*~#!%$@^-").startswith(UP) for s in states):
        return f"no SLURM node up (sinfo states: {states or 'none'}): run scripts/slurm_local.sh"
    return None


SKIP = _skip_reason()
pytestmark = [pytest.mark.slow, pytest.mark.skipif(SKIP is not None, reason=str(SKIP))]


def _slurm_launcher(name: str) -> list[str]:
    """The launcher overrides of a small test job named ``name`` on this machine's partition."""
    return [
        "hydra/launcher=slurm",
        f"hydra.launcher.partition={_partition()}",
        f"hydra.launcher.name={name}",
        "hydra.launcher.cpus_per_task=1",
        "hydra.launcher.mem_gb=2",
        "hydra.launcher.timeout_min=5",
        "hydra.launcher.signal_delay_s=30",
    ]


def test_sweep_through_slurm(tmp_path, data_cache):
    out = tmp_path / "runs"
    name = f"scaling-test-{uuid.uuid4().hex[:8]}"  # to find (and cancel) this test's jobs
    cmd = [
        "scaling-train",
        "-m",
        f"runtime.out_dir={out}",
        *SMALL,
        *_slurm_launcher(name),
    ]
    try:
        proc = run_cli(cmd, cache=data_cache, check=True, timeout=240)
    finally:
        subprocess.run(["scancel", "--name", name], check=False, capture_output=True)
    recs = _complete(out)
    # one run per grid point of model=xxxs,xxs x budget.flops=2e8,6e8
    assert _grid(recs) == sorted(itertools.product(["web"], ["xxxs", "xxs"], [2e8, 6e8]))
    assert all(r["threads"] == 1 for r in recs)

    # one array job of 4 tasks: submitit_folder <sweep>/.submitit/%j is one folder per job id,
    # <array>/ (the sbatch script) and <array>_<i>/ (a task's logs, pickles), no literal %j
    submitit = out / ".submitit"
    assert not (submitit / "%j").exists()
    folders = sorted(p for p in submitit.iterdir() if p.is_dir() and "_" in p.name)
    array_ids = {p.name.split("_")[0] for p in folders}
    assert len(array_ids) == 1, folders
    (array_id,) = array_ids
    assert sorted(p.name for p in folders) == [f"{array_id}_{i}" for i in range(4)]
    assert (submitit / array_id / f"{array_id}_submission.sh").exists()
    for folder in folders:
        out_log = (folder / f"{folder.name}_0_log.out").read_text()
        assert f"Starting with JobEnvironment(job_id={folder.name}," in out_log, out_log
        err_log = (folder / f"{folder.name}_0_log.err").read_text()
        assert "] trained:" in err_log, err_log[-2000:]
        outcome, job_return = pickle.loads((folder / f"{folder.name}_0_result.pkl").read_bytes())
        assert outcome == "success", job_return
    # the submitter logged the array job (Hydra's submitit launcher prints the sweep's jobs)
    assert "Submitit 'slurm' sweep output dir" in proc.stderr + proc.stdout


def test_preempted_run_is_requeued_and_resumes(tmp_path, data_cache):
    """SIGUSR2 to a running task is what SLURM sends signal_delay_s before the time limit (and at
    preemption, with PreemptParameters=send_user_signal): submitit checkpoints the launcher
    call and `scontrol requeue`s the task, and the run starts again from its own last
    checkpoint, in the same array task. The requeued task waits the cluster's cred_expire
    (10 s from scripts/slurm_local.sh, 120 s by default) before it starts again."""
    out = tmp_path / "runs"
    name = f"scaling-test-{uuid.uuid4().hex[:8]}"
    cmd = [
        "scaling-train",
        "-m",
        f"runtime.out_dir={out}",
        *(o for o in SMALL if not o.startswith(("model=", "budget.flops="))),
        "model=xxxs",
        "budget.flops=4e10",  # ~15 s of training, so the signal comes mid-run
        "runtime.checkpoint_minutes=0.01",
        *_slurm_launcher(name),
    ]
    proc = launch(cmd, cache=data_cache, stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 120
        while time.time() < deadline and not list(out.glob("*/checkpoint.pt")):
            assert proc.poll() is None, proc.communicate()[1][-3000:]
            time.sleep(0.2)
        assert list(out.glob("*/checkpoint.pt")), "no checkpoint within 120 s"
        # a preemption as submitit simulates one (SlurmJob._interrupt): SIGTERM (ignored), then
        # the job's signal, USR2, to its steps (not the batch shell)
        for sig in ("TERM", "USR2"):
            subprocess.run(["scancel", f"--signal={sig}", f"--name={name}"], check=True)
        err = proc.communicate(timeout=300)[1]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        subprocess.run(["scancel", f"--name={name}"], check=False, capture_output=True)
    assert proc.returncode == 0, err[-3000:]
    (rec,) = _complete(out)
    assert rec["resumed_from_step"] > 0, rec
    (folder,) = (p for p in (out / ".submitit").iterdir() if p.is_dir())
    log_out = (folder / f"{folder.name}_0_log.out").read_text()
    log_err = (folder / f"{folder.name}_0_log.err").read_text()
    assert log_out.count(f"Starting with JobEnvironment(job_id={folder.name},") == 2, log_out
    assert "DUE TO JOB REQUEUE" in log_err, log_err
    assert "resuming from step" in log_err, log_err
    assert log_err.count("] trained:") == 1, log_err
