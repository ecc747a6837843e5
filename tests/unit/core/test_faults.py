"""Kill points (core.faults): parsing SCALING_FAULT, counting hits, the list of points against
the package's calls; and core.io's one-line error for a write the disk refuses."""

from __future__ import annotations

import errno
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from scaling.core import faults, io
from scaling.core.errors import UserError

PACKAGE = Path(faults.__file__).resolve().parents[1]
CALL = re.compile(r"""faults\.point\(\s*["']([^"']+)["']\s*\)""")


@pytest.fixture
def kills(monkeypatch):
    """The signals ``point`` would send, recorded instead of sent; a fresh parse of the env."""
    sent: list[int] = []
    monkeypatch.setattr(faults.os, "kill", lambda pid, sig: sent.append(sig))
    faults.reset()
    yield sent
    faults.reset()


def test_parse_reads_names_counts_and_signals():
    got = faults.parse(" train.tasks@3 , checkpoint.renamed:TERM,io.atomic_write.renamed@2:KILL")
    assert got["train.tasks"] == faults.Fault("train.tasks", 3, signal.SIGKILL)
    assert got["checkpoint.renamed"] == faults.Fault("checkpoint.renamed", 1, signal.SIGTERM)
    assert got["io.atomic_write.renamed"].hit == 2
    assert faults.parse("") == {} and faults.parse(" , ") == {}


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("train.task", "unknown point 'train.task'"),
        ("train.tasks@0", "whole number >= 1"),
        ("train.tasks@x", "whole number >= 1"),
        ("train.tasks:NOPE", "no signal 'NOPE'"),
    ],
)
def test_a_bad_spec_is_one_user_error(spec, says):
    with pytest.raises(UserError, match=re.escape(says)) as exc:
        faults.parse(spec)
    assert "\n" not in str(exc.value) and faults.ENV in str(exc.value)


def test_unset_nothing_is_sent(kills, monkeypatch):
    monkeypatch.delenv(faults.ENV, raising=False)
    for _ in range(3):
        faults.point("train.tasks")
    assert kills == []


def test_the_nth_hit_sends_the_signal_once(kills, monkeypatch):
    monkeypatch.setenv(faults.ENV, "train.tasks@3,train.evaluate:TERM")
    faults.point("train.tasks")
    faults.point("train.tasks")
    faults.point("checkpoint.renamed")  # not armed
    assert kills == []
    faults.point("train.tasks")
    assert kills == [signal.SIGKILL]
    faults.point("train.tasks")  # the 4th hit: past it
    faults.point("train.evaluate")
    assert kills == [signal.SIGKILL, signal.SIGTERM]


def test_the_variable_is_read_once(kills, monkeypatch):
    monkeypatch.delenv(faults.ENV, raising=False)
    faults.point("train.tasks")
    monkeypatch.setenv(faults.ENV, "train.tasks")
    faults.point("train.tasks")
    assert kills == []
    faults.reset()
    faults.point("train.tasks")
    assert kills == [signal.SIGKILL]


def test_a_process_dies_by_sigkill_at_its_point():
    code = (
        "from scaling.core import faults\n"
        "faults.point('train.tasks')\n"
        "print('first', flush=True)\n"
        "faults.point('train.tasks')\n"
        "print('second', flush=True)\n"
    )
    env = {"SCALING_FAULT": "train.tasks@2", "PATH": "/usr/bin:/bin"}
    proc = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == -signal.SIGKILL
    assert proc.stdout == "first\n"


def _calls() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "faults.py" and path.parent.name == "core":  # its docstring's example
            continue
        for name in CALL.findall(path.read_text()):
            found.setdefault(name, []).append(str(path.relative_to(PACKAGE.parent)))
    return found


def test_every_point_is_called_and_every_call_is_listed():
    calls = _calls()
    assert sorted(set(faults.POINTS) - set(calls)) == []  # listed but never reached
    assert sorted(set(calls) - set(faults.POINTS)) == []  # called but not documented
    assert len(faults.POINTS) >= 20
    assert all(len(v) == 1 for v in calls.values()), {k: v for k, v in calls.items() if len(v) > 1}
    assert all(desc and "\n" not in desc for desc in faults.POINTS.values())


# ---- core.io: a write the disk refuses --------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "advice"),
    [
        (errno.ENOSPC, "free space on its disk"),
        (errno.EFBIG, "free space on its disk"),
        (errno.EROFS, "writable"),
        (errno.EACCES, "writable"),
    ],
)
def test_a_refused_write_is_one_line_naming_the_path(tmp_path, monkeypatch, code, advice):
    target = tmp_path / "result.json"
    target.write_text('{"old": true}\n')

    def refuse(*_a, **_k):
        raise OSError(code, "refused")

    monkeypatch.setattr(io.os, "fsync", refuse)
    with pytest.raises(io.OutputNotWritable) as exc:
        io.atomic_write_json(target, {"new": True})
    text = str(exc.value.code)
    assert text.startswith(f"error: {target}: cannot write (") and advice in text
    assert "\n" not in text and "relaunch" in text
    assert target.read_text() == '{"old": true}\n'  # the old file is intact
    assert list(tmp_path.glob(".*.tmp")) == []  # and no temporary is left


def test_other_errors_pass_unchanged(tmp_path):
    with pytest.raises(FileNotFoundError):
        io.atomic_write_text(tmp_path / "missing" / "x.json", "{}")


def test_an_append_refused_names_the_file(tmp_path, monkeypatch):
    path = tmp_path / "metrics.jsonl"
    real_open = open

    def full(p, mode="r", *a, **k):
        if Path(p) == path and "a" in mode:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_open(p, mode, *a, **k)

    monkeypatch.setattr("builtins.open", full)
    with pytest.raises(io.OutputNotWritable, match=re.escape(str(path))):
        io.append_jsonl(path, {"step": 1})


def test_the_error_survives_a_worker_process(tmp_path):
    import pickle

    err = io.not_writable(tmp_path / "x", OSError(errno.ENOSPC, "full"))
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is io.OutputNotWritable and back.code == err.code


def test_check_writable(tmp_path, monkeypatch):
    io.check_writable(tmp_path / "new" / "sweep")  # made, probed, left empty
    assert list((tmp_path / "new" / "sweep").iterdir()) == []

    def refuse(self, *a, **k):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(Path, "touch", refuse)
    with pytest.raises(io.OutputNotWritable, match=r"make .* writable"):
        io.check_writable(tmp_path)


def test_a_sweep_refuses_an_unwritable_sweep_dir_before_it_starts(tmp_path, monkeypatch):
    from omegaconf import OmegaConf

    from scaling.cli.callbacks import AnalyzeOnSweepEnd

    sweep = tmp_path / "sweep"
    cfg = OmegaConf.create({"hydra": {"sweep": {"dir": str(sweep)}}, "runtime": {"out_dir": "x"}})
    AnalyzeOnSweepEnd().on_multirun_start(cfg)
    assert sweep.is_dir()

    def refuse(self, *a, **k):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(Path, "touch", refuse)
    with pytest.raises(io.OutputNotWritable) as exc:
        AnalyzeOnSweepEnd().on_multirun_start(cfg)
    assert str(exc.value.code).startswith(
        f"error: {sweep}: cannot write (Read-only file system); make {sweep} writable"
    )
