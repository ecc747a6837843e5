"""wandb mirrors a run without a network: offline mode writes locally, online falls back."""

import json
import os

import pytest

from scaling.runs.runner import execute
from scaling.runs.tracking import resolve_mode
from tests.conftest import tiny_run


def _wandb_run(tmp_path, monkeypatch, mode):
    monkeypatch.setenv("WANDB_MODE", mode)
    monkeypatch.setenv("WANDB_DIR", str(tmp_path))
    monkeypatch.setenv("WANDB_API_KEY", "x" * 40)
    run = tiny_run(out_dir=tmp_path)
    run.logger.kind = "wandb"
    return execute(run)


def test_offline_mirror_writes_a_local_wandb_run(tmp_path, monkeypatch):
    record = _wandb_run(tmp_path, monkeypatch, "offline")
    assert record["status"] == "done"
    run_dir = tmp_path / record["run_id"]
    offline = list((run_dir / "wandb").glob(f"offline-run-*-{record['run_id']}"))
    assert offline, list(run_dir.rglob("*"))[:20]


def test_disabled_mode_writes_nothing(tmp_path, monkeypatch):
    record = _wandb_run(tmp_path, monkeypatch, "disabled")
    assert record["status"] == "done"  # the run itself finished, so its silence is the mode's
    run_dir = tmp_path / record["run_id"]
    assert json.loads((run_dir / "result.json").read_text()) == record
    assert not (run_dir / "wandb").exists()
    assert not list(tmp_path.rglob("offline-run-*"))


def test_online_without_network_falls_back_to_offline_quickly(monkeypatch):
    monkeypatch.setenv("WANDB_BASE_URL", "https://api.wandb.invalid")  # never resolves
    monkeypatch.delenv("WANDB_MODE", raising=False)
    assert resolve_mode(None) == "offline"
    assert resolve_mode("online") == "offline"


@pytest.mark.parametrize(
    "mode, expected",
    [
        ("disabled", "disabled"),
        ("offline", "offline"),
        ("dryrun", "offline"),
        ("Offline", "offline"),
    ],
)
@pytest.mark.parametrize("env_mode", [None, "online", "disabled"])
def test_explicit_modes(monkeypatch, mode, expected, env_mode):
    """An explicit mode wins over $WANDB_MODE, never probes the network, and leaves the
    environment as it was."""
    from scaling.runs import tracking

    def no_probe(*args, **kw):
        raise AssertionError("an explicit offline/disabled mode must not probe wandb")

    monkeypatch.setattr(tracking, "wandb_reachable", no_probe)
    if env_mode is None:
        monkeypatch.delenv("WANDB_MODE", raising=False)
    else:
        monkeypatch.setenv("WANDB_MODE", env_mode)
    before = dict(os.environ)
    assert resolve_mode(mode) == expected
    assert dict(os.environ) == before


@pytest.mark.parametrize("env_mode, expected", [("disabled", "disabled"), ("dryrun", "offline")])
def test_wandb_mode_env_applies_without_an_explicit_mode(monkeypatch, env_mode, expected):
    from scaling.runs import tracking

    monkeypatch.setattr(tracking, "wandb_reachable", lambda *a, **k: True)
    monkeypatch.setenv("WANDB_MODE", env_mode)
    assert resolve_mode(None) == expected
    monkeypatch.delenv("WANDB_MODE")
    assert resolve_mode(None) == "online"  # reachable and nothing set: online
