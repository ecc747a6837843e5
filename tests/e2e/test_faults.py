"""Fault injection end to end (issue 14): a sweep killed at instrumented points (SIGKILL) or
preempted (SIGTERM) resumes to bit-identical curves; a full disk and a read-only output stop it
with one line and keep the finished runs' results.

The kills go through ``scripts/fault_harness.py`` (``scaling.core.faults`` points) on a sweep of
2 runs (xxxs x 2 data types, debug=toy); the whole harness (35 cases on 4 runs, ~11 minutes on 2
cores) runs only with ``SCALING_FAULT_HARNESS=1``.
"""

from __future__ import annotations

import copy
import dataclasses
import importlib.util
import json
import os
import re
import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from scaling.runs import state
from scaling.train.pack_runner import train_pack
from scaling.train.trainer import Hooks, Preempted, Trainer
from tests.conftest import REPO, tiny_run

pytestmark = pytest.mark.slow

MODELS = "xxxs"  # the harness's sweep shrunk to one size: 2 runs, one pack
FAST = [
    # in the full harness only (suite time): io.append_jsonl.half_line@31 (a torn metrics
    # line), checkpoint.tmp_written@3 (a checkpoint's temporary written, not renamed)
    "runner.publish.weights_saved@1",  # a run's final evaluation logged, its result not written
    "pack.step.end@20:TERM",  # SIGTERM in a pack
]


def _load_harness():
    path = REPO / "scripts" / "fault_harness.py"
    spec = importlib.util.spec_from_file_location("fault_harness", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


harness = _load_harness()


@pytest.fixture(scope="module")
def sweeps(tmp_path_factory, data_cache):
    """The uninterrupted sweep in each engine (packed, solo), in the session's data cache."""
    work = tmp_path_factory.mktemp("faults")
    cache = Path(data_cache)
    return work, cache, harness.references(work, cache, {"packed", "solo"}, MODELS)


def _clean(row: dict) -> None:
    assert "error" not in row, row.get("error")
    assert row["reached"], row
    assert row["partial_after_kill"] == []
    for key in ("lost", "duplicated", "curves_differing", "weights_differing", "problems"):
        assert row[key] == [], (key, row[key])


@pytest.mark.parametrize("spec", FAST)
def test_a_sweep_killed_at_a_point_resumes_to_the_same_curves(sweeps, spec):
    work, cache, refs = sweeps
    case = harness.case_for(spec)
    row = harness.run_case(case, work, cache, refs, MODELS)
    _clean(row)
    want, _ = harness.expected_exit(spec)
    assert [launch["returncode"] for launch in row["launches"]] == [want, 0]
    assert row["runs"] == 2 and row["resumed"]  # killed with a checkpoint to resume from


def test_a_point_never_reached_is_reported(sweeps):
    work, cache, refs = sweeps
    case = harness.case_for("runner.publish.result_written@9")
    row = harness.run_case(case, work, cache, refs, MODELS)
    assert row["reached"] is False and row["launches"][0]["returncode"] == 0


def test_sigterm_checkpoints_at_the_step_boundary_and_exits_nonzero(sweeps):
    work, cache, refs = sweeps
    case, out = harness.Case(["train.step.end@20:TERM"], mode="solo"), work / "sigterm"
    proc = harness.launch(out, cache, case, case.kills[0], MODELS)
    assert proc.returncode == 1
    said = [line for line in proc.stderr.splitlines() if line.startswith("preempted")]
    assert len(said) == 1 and re.fullmatch(
        r"preempted: SIGTERM; checkpointed at step 20 of \d+; launch the same command again "
        r"to resume",
        said[0],
    )
    (stopped,) = [d for d in harness.run_dirs(out) if (d / "checkpoint.pt").exists()]
    assert not (stopped / "result.json").exists()
    assert json.loads((stopped / "status.json").read_text())["checkpoint_step"] == 20
    assert state.run_state(stopped) == "interrupted"  # resumed, not skipped as failed
    assert harness.launch(out, cache, case, None, MODELS).returncode == 0
    row = harness.check_sweep(out, refs["solo"], analysis=False)
    assert row["curves_differing"] == row["weights_differing"] == row["lost"] == []
    assert json.loads((stopped / "result.json").read_text())["resumed_from_step"] == 20


# ---- SIGTERM in process: the solo loop and the pack ------------------------------------------


class _TermAfter(Hooks):
    """Sends this process SIGTERM after step ``at``; keeps what ``checkpoint`` is given."""

    def __init__(self, at: int | None) -> None:
        self.at, self.saved = at, []

    def on_step(self, record) -> None:
        if record["step"] == self.at:
            os.kill(os.getpid(), signal.SIGTERM)

    def checkpoint(self, trainer) -> None:
        self.saved.append(copy.deepcopy(trainer.state_dict()))


def _losses(result) -> list[float]:
    return [r["loss"] for r in result.curve]


def test_sigterm_stops_a_solo_run_at_the_next_step(tmp_path):
    run = tiny_run(out_dir=tmp_path)
    want = Trainer(run).run_to_end()
    hooks = _TermAfter(5)
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(Preempted, match="checkpointed at step 5 of"):
        Trainer(run).run_to_end(hooks)
    assert signal.getsignal(signal.SIGTERM) is before  # the handler is put back
    assert [s["step"] for s in hooks.saved] == [5]
    resumed = Trainer(run)
    resumed.load_state_dict(hooks.saved[0])
    assert _losses(resumed.run_to_end()) == _losses(want)  # bit for bit


def test_sigterm_stops_a_pack_and_each_run_resumes(tmp_path):
    base = tiny_run(out_dir=tmp_path)
    runs = [base, dataclasses.replace(base, seed=1)]
    want = train_pack([Trainer(r) for r in runs])
    hooks = [_TermAfter(6), _TermAfter(None)]
    with pytest.raises(Preempted, match="2 runs of a pack"):
        train_pack([Trainer(r) for r in runs], hooks)
    assert [[s["step"] for s in h.saved] for h in hooks] == [[6], [6]]
    trainers = [Trainer(r) for r in runs]
    for t, h in zip(trainers, hooks, strict=True):
        t.load_state_dict(h.saved[0])
    got = train_pack(trainers)
    assert [_losses(r) for r in got] == [_losses(r) for r in want]


# ---- a full disk, a read-only output ----------------------------------------------------------

# Above every small file a launch writes here (multirun.yaml ~9 kB, config.yaml ~4 kB, the
# metrics and logs of a 14-step run), below an xxs checkpoint (~70 kB): the xxs runs' first
# checkpoint is refused (EFBIG, as a full disk refuses it with ENOSPC).
FILE_SIZE_LIMIT = 24_000


def _limit_file_size() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails, not kills
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_SIZE_LIMIT, resource.RLIM_INFINITY))


def _results(out: Path) -> dict[str, bytes]:
    return {p.parent.name: p.read_bytes() for p in out.glob("*/result.json")}


def _errors(proc: subprocess.CompletedProcess) -> list[str]:
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    return [line for line in proc.stderr.splitlines() if line.startswith("error")]


def test_a_full_disk_stops_the_sweep_in_one_line_and_keeps_the_results(sweeps, tmp_path):
    _, cache, _ = sweeps
    out, case = tmp_path / "sweep", harness.Case([])
    assert harness.launch(out, cache, case, None, MODELS).returncode == 0
    finished = _results(out)
    assert len(finished) == 2
    proc = harness.launch(out, cache, case, None, "xxxs,xxs", preexec_fn=_limit_file_size)
    assert proc.returncode == 1
    (line,) = _errors(proc)
    assert re.fullmatch(
        rf"error: {re.escape(str(out))}/\S+/checkpoint\.pt: cannot write \(File too large\); "
        r"free space on its disk .* then relaunch: finished runs are kept .*",
        line,
    ), line
    assert _results(out) == finished  # unchanged, byte for byte
    assert harness.temporaries(out) == []
    assert harness.launch(out, cache, case, None, "xxxs,xxs").returncode == 0
    assert len(_results(out)) == 4


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a 0555 directory")
def test_a_read_only_output_is_refused_in_one_line(sweeps, tmp_path):
    _, cache, _ = sweeps
    out = tmp_path / "sweep"
    assert harness.launch(out, cache, harness.Case([]), None, MODELS).returncode == 0
    finished = _results(out)
    out.chmod(0o555)
    try:
        proc = harness.launch(out, cache, harness.Case([], analysis=True), None, "xxxs,xxs")
    finally:
        out.chmod(0o755)
    assert proc.returncode == 1
    assert _errors(proc) == [
        f"error: {out}: cannot write (Permission denied); make {out} writable or point the "
        "output elsewhere (runtime.out_dir, SCALING_CACHE_DIR), then relaunch: finished runs "
        "are kept and interrupted ones resume from their last checkpoint"
    ]
    assert _results(out) == finished


# ---- the whole harness -------------------------------------------------------------------------


@pytest.mark.skipif(
    not os.environ.get("SCALING_FAULT_HARNESS"),
    reason="every kill point (~11 min): SCALING_FAULT_HARNESS=1 runs it",
)
def test_the_full_fault_harness(tmp_path):
    out = tmp_path / "faults.json"
    proc = subprocess.run(
        [sys.executable, str(REPO / "scripts/fault_harness.py"), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=3600,
    )
    report = json.loads(out.read_text())
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert report["errors"] == [] and report["not_reached"] == []
    assert report["reached"] == report["points_tried"] == len(harness.CASES)
    for key in ("lost", "duplicated", "curves_differing", "weights_differing"):
        assert report[key] == 0, key
    assert report["partial_after_kill"] == report["problems"] == 0
