"""``scaling import-wandb``: wandb runs come back as the tidy frames of the local run records.

Offline: two tiny runs trained with ``logger=wandb`` in offline mode (no network) import to the
same rows and curves as ``results.load`` / ``load_curves`` give for their records. Server: a
fake ``api`` stands in for ``wandb.Api()``. The command writes the tables ``scaling export``
writes, and bad input is one line, exit status 2, nothing written.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pandas as pd
import pytest

from scaling.analysis import results, wandb_import
from scaling.analysis.tables import read_table
from scaling.analysis.wandb_import import (
    Launch,
    import_offline,
    import_project,
    offline_runs,
    read_launch,
)
from scaling.cli.main import main
from scaling.core.errors import UserError
from scaling.core.io import append_jsonl, atomic_write_json
from scaling.runs.runner import execute_pack
from scaling.runs.tracking import summary_fields
from tests.conftest import tiny_run
from tests.helpers import run_cli

WANDB_COLUMNS = ["wandb_id", "wandb_path"]
TABLES = ["curves.parquet", "runs.csv", "runs.parquet"]


def _offline_env(tmp_path, mp):
    """wandb offline, silent, with every directory it writes in ``tmp_path``."""
    mp.setenv("WANDB_MODE", "offline")
    mp.setenv("WANDB_SILENT", "true")
    mp.setenv("WANDB_API_KEY", "x" * 40)
    for var in ("WANDB_DIR", "WANDB_DATA_DIR", "WANDB_CACHE_DIR", "WANDB_CONFIG_DIR"):
        (tmp_path / var.lower()).mkdir(exist_ok=True)
        mp.setenv(var, str(tmp_path / var.lower()))


@pytest.fixture(scope="module")
def offline_sweep(tmp_path_factory, data_cache):
    """A sweep of two tiny runs (seeds 0 and 1, one pack) mirrored to offline wandb runs."""
    tmp = tmp_path_factory.mktemp("wandb_import")
    with pytest.MonkeyPatch.context() as mp:
        _offline_env(tmp, mp)
        runs = []
        for seed in (0, 1):
            run = tiny_run(out_dir=tmp / "sweep", seed=seed)
            run.logger.kind = "wandb"
            runs.append(run)
        records = execute_pack(runs)
    assert [r["status"] for r in records] == ["done", "done"]
    return tmp / "sweep", records


def _import_flushed(root, timeout=15.0):
    """``import_offline(root)`` once wandb's writer has flushed every run's log (it can finish
    writing just after ``finish`` returns): all runs, and as many curve rows as the records."""
    expected_rows, expected_curve = len(results.load(root)), len(results.load_curves(root))
    deadline = time.monotonic() + timeout
    while True:
        try:
            runs, curves = import_offline(root)
        except UserError:
            runs, curves = pd.DataFrame(), pd.DataFrame()
        done = len(runs) == expected_rows and len(curves) == expected_curve
        if done or time.monotonic() > deadline:
            return runs, curves
        time.sleep(0.2)


# ---- offline round trip ---------------------------------------------------------------------
def test_offline_import_gives_the_local_rows_and_curves(offline_sweep):
    root, records = offline_sweep
    runs, curves = _import_flushed(root)
    local = results.load(root)
    assert len(local) == 2 and list(runs["run_id"]) == list(local["run_id"])
    pd.testing.assert_frame_equal(runs.drop(columns=WANDB_COLUMNS), local)
    by_id = {r["run_id"]: r for r in records}
    for row in runs.to_dict("records"):
        rec = by_id[row["run_id"]]
        assert row["loss"] == rec["loss"] and row["flops"] == rec["flops"]
        assert row["params"] == rec["params"] and row["tokens"] == rec["tokens"]
        assert row["data_type"] == "web" and row["seed"] == rec["seed"]
        assert row["wandb_id"] == rec["wandb"]["id"] and row["wandb_path"] == rec["wandb"]["path"]
    local_curves = results.load_curves(root)
    assert set(local_curves["kind"]) == {"train", "eval"}
    pd.testing.assert_frame_equal(curves, local_curves, check_like=True)


def test_the_wandb_summary_holds_the_whole_record(offline_sweep):
    root, records = offline_sweep
    _import_flushed(root)
    for rec in records:
        (log,) = (root / rec["run_id"] / "wandb").glob("offline-run-*/run-*.wandb")
        summary = read_launch(log).summary
        assert json.loads(summary["record"]) == json.loads(
            (root / rec["run_id"] / "result.json").read_text()
        )
        assert summary["run_id"] == rec["run_id"]  # the flat scalar keys are still there
        # the held-out loss, not the last training row's loss that a pending history row
        # flushed at finish used to write over it
        assert summary["loss"] == pytest.approx(rec["loss"], rel=1e-12)
        assert summary["tokens"] == rec["tokens"]


def test_a_log_spanning_blocks_or_cut_short_is_read(tmp_path, monkeypatch):
    """A record longer than a 32 KiB block (a long summary, many history rows) is read whole;
    a log cut short (a killed run) reads up to its last whole record."""
    import wandb

    _offline_env(tmp_path, monkeypatch)
    run = wandb.init(project="p", id="long", dir=str(tmp_path), mode="offline")
    for step in range(1, 1201):
        run.log({"step": step, "loss": 1.0 / step}, step=step)
    run.summary.update({"record": "x" * 70_000})
    run.finish()
    (log,) = tmp_path.glob("wandb/offline-run-*/run-long.wandb")
    deadline = time.monotonic() + 10
    while len(read_launch(log).summary.get("record", "")) < 70_000 and time.monotonic() < deadline:
        time.sleep(0.1)
    launch = read_launch(log)
    assert launch.wandb_id == "long" and len(launch.summary["record"]) == 70_000
    assert [r["step"] for r in launch.history] == list(range(1, 1201))
    cut = log.with_name("run-cut.wandb")
    cut.write_bytes(log.read_bytes()[: log.stat().st_size // 2])
    steps = [r["step"] for r in read_launch(cut).history]
    assert 0 < len(steps) < 1200 and steps == list(range(1, len(steps) + 1))


# ---- the server, through a fake api ---------------------------------------------------------
RECORD = {
    "schema": 1,
    "status": "done",
    "run_id": "web-m-1e18-s0-abc",
    "sweep": "s",
    "data_type": "web",
    "model": "m",
    "budget_flops": 1e18,
    "seed": 0,
    "flops_convention": "6N_total",
    "flops": 9.9e17,
    "params": 1_000_000,
    "tokens": 165_000_000,
    "loss": 3.25,
    "pool_tokens": None,
    "loss_domain": "web",
    "val": {"web": {"loss": 3.25, "bpb": 1.5}},
    "flops_by_convention": {"6N_total": 9.9e17},
}
CURVE = [  # metrics.jsonl: a train record at every step, an evaluation at steps 2 and 3
    {"kind": "train", "step": 1, "tokens": 128, "loss": 5.5, "lr": 0.003, "grad_norm": 1.0,
     "tokens_per_second": 900.0, "flops": 6e8},
    {"kind": "train", "step": 2, "tokens": 256, "loss": 4.0, "lr": 0.002, "grad_norm": 0.5,
     "tokens_per_second": 950.0, "flops": 1.2e9},
    {"kind": "eval", "step": 2, "tokens": 256, "flops": 1.2e9, "val/web/loss": 4.5,
     "val/web/bpb": 2.0},
    {"kind": "train", "step": 3, "tokens": 384, "loss": 3.5, "lr": 0.001, "grad_norm": 0.25,
     "tokens_per_second": 990.0, "flops": 1.8e9},
    {"kind": "eval", "step": 3, "tokens": 384, "flops": 1.8e9, "val/web/loss": 3.25,
     "val/web/bpb": 1.5, "final": True},
]  # fmt: skip


def _history(curve):
    """The rows wandb keeps of ``curve``: the records of one step merged into one row, with
    wandb's own keys, and JSON's number types lost (ints read as floats, 4.0 as 4)."""
    rows: dict[int, dict] = {}
    for rec in curve:
        row = rows.setdefault(rec["step"], {"_step": rec["step"], "_runtime": 0.1})
        row.update({k: v for k, v in rec.items() if k != "kind"})
    for row in rows.values():
        row["tokens"] = float(row["tokens"])
        row["loss"] = int(row["loss"]) if float(row["loss"]).is_integer() else row["loss"]
    return list(rows.values())


class FakeRun:
    def __init__(self, wandb_id, summary, history):
        self.id, self.path = wandb_id, ["ent", "proj", wandb_id]
        self.summary, self.config, self._history = summary, {}, history

    def scan_history(self):
        return iter(self._history)


class FakeApi:
    def __init__(self, runs):
        self._runs, self.calls = runs, []

    def runs(self, path, filters=None):
        self.calls.append((path, filters))
        return iter(self._runs)


def _fake_api():
    finished = FakeRun(
        "web-m-1e18-s0-abc-1234abcd",
        {**summary_fields(RECORD), "loss": 5.5, "_runtime": 3},  # loss: the history's last
        _history(CURVE),
    )
    analysis = FakeRun("s-analysis-1234abcd", {"_runtime": 1}, [])  # no record: left out
    return FakeApi([analysis, finished])


def _local_sweep(root):
    """The same run as a local record: result.json and metrics.jsonl."""
    run_dir = root / RECORD["run_id"]
    run_dir.mkdir(parents=True)
    atomic_write_json(run_dir / "result.json", RECORD)
    for rec in CURVE:
        append_jsonl(run_dir / "metrics.jsonl", rec)
    return root


def test_api_import_rebuilds_the_rows_and_curves_of_the_records(tmp_path):
    api = _fake_api()
    runs, curves = import_project("proj", entity="ent", api=api, filters={"group": "s"})
    assert api.calls == [("ent/proj", {"group": "s"})]
    assert list(runs["run_id"]) == [RECORD["run_id"]]
    row = runs.iloc[0]
    assert row["loss"] == 3.25 and row["val_web_bpb"] == 1.5 and row["flops_6N_total"] == 9.9e17
    assert row["wandb_id"] == "web-m-1e18-s0-abc-1234abcd"
    assert row["wandb_path"] == "ent/proj/web-m-1e18-s0-abc-1234abcd"
    assert row["run_dir"] is None and pd.isna(row["pool_tokens"])
    local_root = _local_sweep(tmp_path / "sweep")
    local = results.load(local_root).drop(columns=["run_dir"])
    pd.testing.assert_frame_equal(runs.drop(columns=[*WANDB_COLUMNS, "run_dir"]), local)
    assert list(curves["kind"]) == ["train", "train", "eval", "train", "eval"]
    assert curves["tokens"].dtype == "int64" and curves["loss"].dtype == "float64"
    pd.testing.assert_frame_equal(curves, results.load_curves(local_root), check_like=True)


def test_api_errors_are_one_line_user_errors():
    class Failing:
        def runs(self, path, filters=None):
            raise ValueError(f"Could not find project {path}.\nmore detail")

    with pytest.raises(UserError) as err:
        import_project("ent/nope", api=Failing())
    message = str(err.value)
    assert "\n" not in message and "wandb project ent/nope" in message
    assert "Could not find project ent/nope" in message and "wandb login" in message
    with pytest.raises(UserError, match="not a wandb project"):
        import_project("a/b/c", api=Failing())


def test_a_relaunch_replaces_the_steps_it_logged_again(tmp_path):
    """A relaunch resumes from a checkpoint (step 3) and logs from step 4 on: its rows replace
    the first launch's from there; the record is the finishing launch's."""
    first = Launch(tmp_path / "a" / "run-x.wandb", "x", 1.0)
    first.history = [{"_step": s, "step": s, "loss": 1.0} for s in range(1, 7)]
    second = Launch(tmp_path / "b" / "run-x.wandb", "x", 2.0, summary=summary_fields(RECORD))
    second.history = [{"_step": s, "step": s, "loss": 2.0} for s in range(4, 9)]
    (run,) = offline_runs([second, first])
    assert [(r["step"], r["loss"]) for r in run.history] == [(1, 1.0), (2, 1.0), (3, 1.0)] + [
        (s, 2.0) for s in range(4, 9)
    ]
    assert run.record == RECORD and run.wandb_path == str(tmp_path / "b")
    assert offline_runs([first]) == []  # unfinished: no record, left out


# ---- the command ----------------------------------------------------------------------------
def _files(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def test_the_command_writes_the_three_tables_of_offline_runs(
    offline_sweep, tmp_path, monkeypatch, capsys
):
    root, records = offline_sweep
    _import_flushed(root)
    monkeypatch.chdir(tmp_path)
    assert main(["import-wandb", str(root)]) == 0
    out = tmp_path / "wandb_import" / root.name  # the default --out
    assert sorted(p.name for p in out.iterdir()) == TABLES  # no temporaries left
    line = capsys.readouterr().out.strip()
    assert len(line.splitlines()) == 1 and "imported 2 runs" in line
    assert line.endswith(f"into {Path('wandb_import') / root.name}")
    runs = pd.read_parquet(out / "runs.parquet")
    assert sorted(runs["run_id"]) == sorted(r["run_id"] for r in records)
    assert list(runs["budget"]) == list(runs["budget_flops"])
    assert list(pd.read_csv(out / "runs.csv")["run_id"]) == list(runs["run_id"])
    curves = pd.read_parquet(out / "curves.parquet")
    assert len(curves) == len(results.load_curves(root))
    assert {"val_web_loss", "kind", "final"} <= set(curves.columns)
    assert curves["final"].sum() == 2  # one final evaluation per run
    table = read_table(out / "runs.parquet")  # what `scaling fit OUT/runs.parquet` reads
    assert (table["loss"] > 0).all() and len(table) == 2


def test_the_command_reads_a_project_through_the_api(tmp_path, monkeypatch, capsys):
    api = _fake_api()
    monkeypatch.setattr(wandb_import, "_default_api", lambda: api)
    out = tmp_path / "tables"
    assert main(["import-wandb", "proj", "--entity", "ent", "--out", str(out)]) == 0
    assert api.calls == [("ent/proj", None)]
    assert sorted(p.name for p in out.iterdir()) == TABLES
    assert "imported 1 runs" in capsys.readouterr().out
    assert list(pd.read_parquet(out / "runs.parquet")["loss"]) == [3.25]


@pytest.mark.parametrize("case", ["missing", "no_offline_runs"])
def test_bad_directories_are_one_line_exit_2_and_write_nothing(case, tmp_path, monkeypatch, capsys):
    source = tmp_path / "src"
    if case == "no_offline_runs":
        (source / "run").mkdir(parents=True)
        (source / "run" / "result.json").write_text("{}")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    assert main(["import-wandb", str(source)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and err.startswith(f"error: {source}")
    assert ("no such directory" if case == "missing" else "no offline wandb runs") in err
    assert not list(work.iterdir())


def test_the_console_script_reports_a_missing_directory_without_a_traceback(tmp_path):
    proc = run_cli(["scaling", "import-wandb", str(tmp_path / "missing")], cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert proc.stderr.startswith("error: ") and len(proc.stderr.strip().splitlines()) == 1
    assert "Traceback" not in proc.stderr and _files(tmp_path) == []
