"""wandb mirrors a run without a network: offline mode writes locally, online falls back.

A wandb run is one per sweep and run (two sweeps sharing a grid point never share one), the
same across relaunches of a sweep; an offline run says where it went and how to sync it; a
sweep's analysis is logged as one artifact. Every test runs wandb offline in ``tmp_path``.
"""

import json
import os
import re
import time

import pytest

from scaling.runs import tracking
from scaling.runs.runner import execute, execute_pack
from scaling.runs.tracking import (
    WANDB_ID_MAX,
    init_kwargs,
    log_sweep_artifacts,
    resolve_mode,
    safe_wandb_id,
    sweep_hash,
    wandb_run_id,
)
from tests.conftest import tiny_run

WANDB_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def _offline_env(tmp_path, monkeypatch, mode="offline"):
    """wandb in ``mode`` with every directory it writes (runs, staging, cache, config) in
    ``tmp_path`` and nothing printed of its own."""
    monkeypatch.setenv("WANDB_MODE", mode)
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.setenv("WANDB_API_KEY", "x" * 40)
    for var, sub in [
        ("WANDB_DIR", "wandb-dir"),
        ("WANDB_DATA_DIR", "wandb-data"),
        ("WANDB_CACHE_DIR", "wandb-cache"),
        ("WANDB_CONFIG_DIR", "wandb-config"),
    ]:
        (tmp_path / sub).mkdir(exist_ok=True)
        monkeypatch.setenv(var, str(tmp_path / sub))


def _named_run(out_dir, name="test", **changes):
    """``tiny_run`` of the sweep ``name`` (not part of the run's identity)."""
    run = tiny_run(out_dir=out_dir, **changes)
    run.name = name
    return run


def _wandb_tiny_run(out_dir, **changes):
    run = _named_run(out_dir, **changes)
    run.logger.kind = "wandb"
    return run


def _wandb_run(tmp_path, monkeypatch, mode):
    _offline_env(tmp_path, monkeypatch, mode)
    return execute(_wandb_tiny_run(tmp_path))


def _offline_ids(run_dir):
    """The wandb ids of the offline runs under ``run_dir``, one per launch, oldest first (from
    their transaction logs, ``run-<id>.wandb``: the directory of a second launch within the
    same second gets a ``-1`` suffix)."""
    logs = sorted((run_dir / "wandb").glob("offline-run-*/run-*.wandb"))
    return [f.name.removeprefix("run-").removesuffix(".wandb") for f in logs]


def test_offline_mirror_writes_a_local_wandb_run(tmp_path, monkeypatch):
    record = _wandb_run(tmp_path, monkeypatch, "offline")
    assert record["status"] == "done"
    run_dir = tmp_path / record["run_id"]
    offline = list((run_dir / "wandb").glob(f"offline-run-*-{record['run_id']}-*"))
    assert offline, list(run_dir.rglob("*"))[:20]


def test_disabled_mode_writes_nothing(tmp_path, monkeypatch):
    record = _wandb_run(tmp_path, monkeypatch, "disabled")
    assert record["status"] == "done"  # the run itself finished, so its silence is the mode's
    run_dir = tmp_path / record["run_id"]
    assert json.loads((run_dir / "result.json").read_text()) == record
    assert not (run_dir / "wandb").exists()
    assert not list(tmp_path.rglob("offline-run-*"))


# ---- identity ------------------------------------------------------------------------------
def test_two_sweeps_sharing_a_grid_point_get_distinct_wandb_ids(tmp_path, monkeypatch):
    """quickstart and isoflop_web_vs_frontier both train web-s-1e11-s0-...: one scaling-lab
    run id, two wandb runs (before, the second resumed the first's)."""
    _offline_env(tmp_path, monkeypatch)
    a = execute(_wandb_tiny_run(tmp_path / "runs" / "a", name="sweep"))
    b = execute(_wandb_tiny_run(tmp_path / "runs" / "b", name="sweep"))
    assert a["run_id"] == b["run_id"]
    (id_a,) = _offline_ids(tmp_path / "runs" / "a" / a["run_id"])
    (id_b,) = _offline_ids(tmp_path / "runs" / "b" / b["run_id"])
    assert id_a != id_b
    assert id_a.startswith(a["run_id"] + "-") and id_b.startswith(b["run_id"] + "-")
    assert WANDB_ID.match(id_a) and WANDB_ID.match(id_b)


def test_relaunching_a_sweep_continues_the_same_wandb_run(tmp_path, monkeypatch, capsys):
    """An unfinished run relaunched (here: its result and status removed) logs into the wandb
    run of its first launch; each launch says once where its offline run went."""
    _offline_env(tmp_path, monkeypatch)
    run = _wandb_tiny_run(tmp_path / "runs" / "a")
    first = execute(run)
    run_dir = tmp_path / "runs" / "a" / first["run_id"]
    (run_dir / "result.json").unlink()
    (run_dir / "status.json").unlink()
    second = execute(_wandb_tiny_run(tmp_path / "runs" / "a"))
    assert second["status"] == "done"
    ids = _offline_ids(run_dir)
    assert len(ids) == 2 and ids[0] == ids[1] == wandb_run_id(run, first["run_id"])
    notes = [line for line in capsys.readouterr().err.splitlines() if "wandb sync" in line]
    assert len(notes) == 2  # once per launch
    for note, offline in zip(notes, sorted((run_dir / "wandb").glob("offline-run-*")), strict=True):
        assert f"wandb sync {offline}" in note and ids[0] in note


def test_wandb_run_id_names_the_sweep_by_its_absolute_directory_and_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs" / "a").mkdir(parents=True)
    (tmp_path / "link").symlink_to(tmp_path / "runs")
    rid = "web-s-1e11-s0-6615803e26"
    same = {
        wandb_run_id(tiny_run(out_dir=d), rid)
        for d in ["runs/a", "runs/a/", tmp_path / "runs" / "a", "link/a", "./runs/../runs/a"]
    }
    assert len(same) == 1
    others = {
        wandb_run_id(tiny_run(out_dir="runs/b"), rid),
        wandb_run_id(_named_run("runs/a", name="other"), rid),
    }
    assert len(same | others) == 3
    (one,) = same
    assert one == f"{rid}-{sweep_hash('test', tmp_path / 'runs' / 'a')}"
    assert len(sweep_hash("test", "runs/a")) == 8


def test_wandb_ids_stay_within_wandbs_alphabet_and_length():
    suffix = "0123abcd"
    assert safe_wandb_id("web-s-2.5e11-s0-abc", suffix) == "web-s-2_5e11-s0-abc-0123abcd"
    long_a, long_b = "x" * 70 + "-aaaaaaaaaa", "x" * 70 + "-bbbbbbbbbb"
    ids = {safe_wandb_id(s, suffix) for s in (long_a, long_b, "a/b:c#d?e%f\\g.h")}
    assert len(ids) == 3
    for wid in ids:
        assert WANDB_ID.match(wid) and len(wid) <= WANDB_ID_MAX and wid.endswith(f"-{suffix}")


def test_wandb_run_is_grouped_by_sweep_and_labelled_by_data_and_model(tmp_path):
    run = _named_run(tmp_path, name="quickstart")
    run.logger.tags = ["mine"]
    kw = init_kwargs(run, "rid", tmp_path / "rid")
    assert kw["group"] == "quickstart" and kw["job_type"] == "web" and kw["name"] == "rid"
    assert kw["tags"] == ["mine", "data:web", "model:toy"]
    assert kw["id"] == wandb_run_id(run, "rid") and kw["dir"] == str(tmp_path / "rid")


def test_packed_runs_each_get_their_own_wandb_run(tmp_path, monkeypatch, capsys):
    """wandb.init in a process with an active run returns that run unless asked for a new one;
    the runs of a pack are open together, so each must get (and log into) its own."""
    _offline_env(tmp_path, monkeypatch)
    runs = [_wandb_tiny_run(tmp_path, seed=s) for s in (0, 1)]
    records = execute_pack(runs)
    ids = [_offline_ids(tmp_path / r["run_id"]) for r in records]
    assert ids == [[wandb_run_id(run, r["run_id"])] for run, r in zip(runs, records, strict=True)]
    for r, (wid,) in zip(records, ids, strict=True):
        (log,) = (tmp_path / r["run_id"] / "wandb").glob(f"offline-run-*/run-{wid}.wandb")
        assert _written(log, [b"tokens_per_second", b"val/web/loss"])
    err = capsys.readouterr().err
    assert "wandb log failed" not in err and err.count("wandb sync") == 2


# ---- metrics and the offline note ----------------------------------------------------------
class FakeRun:
    """Stands in for a wandb run: records the calls the mirror makes."""

    id, project, group, url = "fake-id", "scaling-lab", "test", None

    def __init__(self, sync_dir):
        self.settings = type("S", (), {"sync_dir": str(sync_dir)})()
        self.metrics, self.logged, self.finished = [], [], []
        self.summary = {}

    def define_metric(self, name, step_metric=None):
        self.metrics.append((name, step_metric))

    def log(self, data, step=None):
        self.logged.append((data, step))

    def finish(self, exit_code=0):
        self.finished.append(exit_code)


def test_curves_are_plotted_against_flops_and_logged_at_their_step(tmp_path, monkeypatch, capsys):
    fake = FakeRun(tmp_path / "offline-run-x-fake-id")
    monkeypatch.setattr(tracking, "start_run", lambda mode, **kw: fake)
    run = _wandb_tiny_run(tmp_path)
    run.logger.mode = "offline"
    mirror = tracking.make_mirror(run, "rid", tmp_path / "rid")
    assert fake.metrics[:2] == [("flops", None), ("tokens", None)]
    assert fake.metrics[2:] == [("*", "flops")]
    mirror.log({"step": 3, "tokens": 96, "flops": 1e6, "loss": 2.5, "note": "x"}, 3)
    assert fake.logged == [({"step": 3, "tokens": 96, "flops": 1e6, "loss": 2.5}, 3)]
    assert mirror.info == {
        "id": "fake-id",
        "project": "scaling-lab",
        "group": "test",
        "mode": "offline",
        "path": str(tmp_path / "offline-run-x-fake-id"),
        "url": None,
    }
    mirror.finish(0)
    mirror.finish(0)
    err = capsys.readouterr().err
    assert fake.finished == [0]
    assert err.count("wandb sync") == 1 and f"wandb sync {mirror.info['path']}" in err


def test_a_failing_define_metric_keeps_the_mirror(tmp_path, monkeypatch, capsys):
    fake = FakeRun(tmp_path)

    def broken(*a, **k):
        raise RuntimeError("no")

    fake.define_metric = broken
    monkeypatch.setattr(tracking, "start_run", lambda mode, **kw: fake)
    run = _wandb_tiny_run(tmp_path)
    run.logger.mode = "offline"
    mirror = tracking.make_mirror(run, "rid", tmp_path)
    mirror.log({"loss": 1.0}, 1)
    assert fake.logged == [({"loss": 1.0}, 1)]
    assert "define_metric failed" in capsys.readouterr().err


def test_online_runs_print_no_sync_note(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(tracking, "start_run", lambda mode, **kw: FakeRun(tmp_path))
    monkeypatch.setattr(tracking, "wandb_reachable", lambda *a, **k: True)
    run = _wandb_tiny_run(tmp_path)
    run.logger.mode = "online"
    tracking.make_mirror(run, "rid", tmp_path).finish(0)
    assert "wandb sync" not in capsys.readouterr().err


# ---- the sweep's analysis artifact ---------------------------------------------------------
def _analysed_sweep(root):
    (root / "figures").mkdir(parents=True)
    (root / "fits.json").write_text('{"sweep": {}}')
    (root / "verdict.json").write_text("{}")
    (root / "verdict.md").write_text("# verdict\n")
    (root / "figures" / "isoflop.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (root / "figures" / "loss_vs_compute.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    return root


def _written(path, needles, timeout=10.0):
    """Whether ``path`` holds every byte string of ``needles`` within ``timeout`` seconds
    (wandb's writer can flush a run's transaction log just after ``finish`` returns)."""
    deadline = time.monotonic() + timeout
    while True:
        data = path.read_bytes()
        if all(n in data for n in needles) or time.monotonic() > deadline:
            return all(n in data for n in needles)
        time.sleep(0.05)


EXPECTED_FILES = [
    "fits.json",
    "verdict.json",
    "verdict.md",
    "figures/isoflop.png",
    "figures/loss_vs_compute.png",
]


def test_sweep_analysis_is_logged_as_one_artifact_offline(tmp_path, monkeypatch, capsys):
    _offline_env(tmp_path, monkeypatch)
    root = _analysed_sweep(tmp_path / "runs" / "quickstart")
    run = _wandb_tiny_run(root, name="quickstart")
    info = log_sweep_artifacts(root, run)
    assert info is not None
    assert info["files"] == EXPECTED_FILES and info["artifact"] == "quickstart-analysis"
    assert info["group"] == "quickstart" and info["mode"] == "offline"
    assert info["id"] == f"quickstart-analysis-{sweep_hash('quickstart', root)}"
    log = next((root / "wandb").glob("offline-run-*/run-*.wandb"))
    assert _written(log, [b"quickstart-analysis", *(f.encode() for f in EXPECTED_FILES)])
    err = capsys.readouterr().err
    assert f"wandb sync {info['path']}" in err


def test_sweep_artifacts_take_a_hydra_config(tmp_path, monkeypatch):
    from omegaconf import OmegaConf

    _offline_env(tmp_path, monkeypatch)
    root = _analysed_sweep(tmp_path / "sweep")
    cfg = OmegaConf.create({"name": "s", "logger": {"kind": "wandb", "mode": None, "tags": []}})
    info = log_sweep_artifacts(str(root), cfg)
    assert info is not None and info["files"] == EXPECTED_FILES and info["group"] == "s"


@pytest.mark.parametrize("kind, mode", [("none", "offline"), ("wandb", "disabled")])
def test_sweep_artifacts_are_a_no_op_without_wandb(tmp_path, monkeypatch, kind, mode):
    _offline_env(tmp_path, monkeypatch, mode)
    root = _analysed_sweep(tmp_path / "sweep")
    run = tiny_run(out_dir=root)
    run.logger.kind = kind
    assert log_sweep_artifacts(root, run) is None
    assert not (root / "wandb").exists() and not list(tmp_path.rglob("offline-run-*"))


def test_sweep_artifacts_wait_for_the_analysis(tmp_path, monkeypatch):
    _offline_env(tmp_path, monkeypatch)
    (tmp_path / "sweep").mkdir()
    assert log_sweep_artifacts(tmp_path / "sweep", _wandb_tiny_run(tmp_path / "sweep")) is None
    assert log_sweep_artifacts(tmp_path / "missing", _wandb_tiny_run(tmp_path)) is None
    assert not list(tmp_path.rglob("offline-run-*"))


# ---- modes ---------------------------------------------------------------------------------
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
    monkeypatch.setattr(tracking, "wandb_reachable", lambda *a, **k: True)
    monkeypatch.setenv("WANDB_MODE", env_mode)
    assert resolve_mode(None) == expected
    monkeypatch.delenv("WANDB_MODE")
    assert resolve_mode(None) == "online"  # reachable and nothing set: online
