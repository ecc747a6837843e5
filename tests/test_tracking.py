"""wandb mirrors a run without a network: offline mode writes locally, online falls back."""

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
    assert not (tmp_path / record["run_id"] / "wandb").exists()


def test_online_without_network_falls_back_to_offline_quickly(monkeypatch):
    monkeypatch.setenv("WANDB_BASE_URL", "https://api.wandb.invalid")  # never resolves
    monkeypatch.delenv("WANDB_MODE", raising=False)
    assert resolve_mode(None) == "offline"
    assert resolve_mode("online") == "offline"


@pytest.mark.parametrize(
    "mode, expected", [("disabled", "disabled"), ("offline", "offline"), ("dryrun", "offline")]
)
def test_explicit_modes(mode, expected):
    assert resolve_mode(mode) == expected
    assert os.environ.get("WANDB_MODE") in (None, "disabled", "offline")
