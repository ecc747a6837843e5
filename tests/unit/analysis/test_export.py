"""A sweep's tables (``scaling.analysis.export``, ``scaling export DIR``): runs.parquet and runs.csv
with one row per finished run, curves.parquet with every logged step and evaluation, read back by
``scaling fit``; and the sweep found through a relative path with ``..`` in it.

The sweep is written to disk without training: one result.json and metrics.jsonl per run, with
losses that follow a known Chinchilla law (``tests.helpers.chinchilla_sweep``).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from scaling.analysis import export, results
from scaling.cli.callbacks import export_sweep_tables
from scaling.cli.main import main
from scaling.core.errors import UserError
from scaling.fit import ChinchillaLaw
from tests.helpers import chinchilla_sweep, run_cli

LAW = ChinchillaLaw(E=1.8172, A=482.01, B=2085.43, alpha=0.3478, beta=0.3658)
TRAIN_STEPS = (1, 2, 3, 4)
EVAL_STEPS = (2, 4)


def _record(row: dict) -> dict:
    """A result.json record of one synthetic run, with nested dicts as a trained run has."""
    return {
        "schema": 1,
        "status": "done",
        **row,
        "val": {"web": {"loss": row["loss"], "bpb": row["loss"] / 0.69}},
        "flops_by_convention": {"6N_total": row["flops"]},
        "params_by_convention": {"6N_total": row["params"]},
        "config": {"model": {"name": row["model"]}},
    }


def _metrics(row: dict) -> list[dict]:
    """metrics.jsonl of one run: train records at TRAIN_STEPS, evaluations at EVAL_STEPS."""
    out = []
    per_step = row["tokens"] / TRAIN_STEPS[-1]
    for step in TRAIN_STEPS:
        tokens = step * per_step
        out.append(
            {
                "kind": "train",
                "step": step,
                "tokens": tokens,
                "flops": 6 * row["params"] * tokens,
                "loss": row["loss"] + 1.0 / step,
                "lr": 1e-3,
            }
        )
        if step in EVAL_STEPS:
            final = step == TRAIN_STEPS[-1]
            rec = {
                "kind": "eval",
                "step": step,
                "tokens": tokens,
                "flops": 6 * row["params"] * tokens,
                "val/web/loss": row["loss"] + (0.0 if final else 0.5),
                "val/web/bpb": 1.0,
            }
            if final:
                rec.update({"final": True, "task/arith/accuracy": 0.25})
            out.append(rec)
    return out


def _write_run(run_dir: Path, row: dict) -> None:
    run_dir.mkdir(parents=True)
    (run_dir / "result.json").write_text(json.dumps(_record(row)))
    lines = "".join(json.dumps(r) + "\n" for r in _metrics(row))
    (run_dir / "metrics.jsonl").write_text(lines)


def write_sweep(root: Path) -> pd.DataFrame:
    """A finished sweep of 21 runs under ``root``, a failed run and a hidden staging copy (both
    left out of the tables); returns the synthetic frame."""
    frame = chinchilla_sweep(LAW, "web")
    for row in frame.to_dict("records"):
        _write_run(root / row["run_id"], row)
    failed = root / "web-failed"
    failed.mkdir()
    (failed / "status.json").write_text(json.dumps({"state": "failed", "run_id": "web-failed"}))
    _write_run(root / ".staging" / "copy", {**frame.iloc[0].to_dict(), "run_id": "hidden"})
    return frame


@pytest.fixture
def sweep(tmp_path: Path) -> tuple[Path, pd.DataFrame]:
    root = tmp_path / "runs" / "smoke"
    return root, write_sweep(root)


# --------------------------------------------------------------------------- export_tables


def test_export_writes_the_three_tables_atomically(sweep):
    root, _ = sweep
    paths = export.export_tables(root)
    assert paths == {name: root / name for name in ("runs.parquet", "runs.csv", "curves.parquet")}
    assert all(p.is_file() for p in paths.values())
    assert not [p.name for p in root.iterdir() if p.name.endswith(".tmp")]  # temporaries gone


def test_runs_tables_have_one_row_per_finished_run(sweep):
    root, frame = sweep
    paths = export.export_tables(root)
    for table in (pd.read_parquet(paths["runs.parquet"]), pd.read_csv(paths["runs.csv"])):
        assert len(table) == len(frame)
        assert sorted(table.run_id) == sorted(frame.run_id)  # not the failed or hidden run
        assert table.budget.tolist() == table.budget_flops.tolist()
        want = frame.set_index("run_id").loss
        got = table.set_index("run_id").loss
        pd.testing.assert_series_equal(got.sort_index(), want.sort_index(), check_names=False)
        assert "val_web_loss" in table and "flops_6N_total" in table


def test_the_runs_table_is_the_tidy_frame_of_load(sweep):
    root, _ = sweep
    export.export_tables(root)
    tidy = results.load(root)
    table = pd.read_parquet(root / "runs.parquet")
    assert list(table.columns) == [*tidy.columns, "budget"]
    pd.testing.assert_frame_equal(
        table[tidy.columns], tidy, check_dtype=False, check_column_type=False
    )


def test_nested_cells_are_json_and_round_trip_through_parquet_and_csv(tmp_path):
    cells = [{"web": {"loss": 2.5}}, [1, 2.0, "x"], None]
    frame = pd.DataFrame({"run_id": ["a", "b", "c"], "nested": cells, "mixed": ["s", 3, None]})
    encoded = export.encode_nested(frame)
    assert encoded.nested[:2].tolist() == ['{"web": {"loss": 2.5}}', '[1, 2.0, "x"]']
    assert encoded.mixed[:2].tolist() == ["s", "3"]
    assert encoded.nested[2:].isna().all() and encoded.mixed[2:].isna().all()  # missing stays
    export.write_parquet(encoded, tmp_path / "t.parquet")
    export.write_csv(encoded, tmp_path / "t.csv")
    for back in (pd.read_parquet(tmp_path / "t.parquet"), pd.read_csv(tmp_path / "t.csv")):
        decoded = [json.loads(v) if isinstance(v, str) else None for v in back.nested]
        assert decoded == cells
    assert frame.nested.tolist() == cells  # the caller's frame is left as it was


def test_curves_hold_every_logged_step_and_evaluation_of_every_run(sweep):
    root, frame = sweep
    curves = pd.read_parquet(export.export_tables(root)["curves.parquet"])
    assert list(curves.columns[:11]) == [
        "run_id",
        "data_type",
        "model",
        "params",
        "budget_flops",
        "seed",
        "kind",
        "step",
        "tokens",
        "flops",
        "loss",
    ]
    assert set(curves.run_id) == set(frame.run_id)
    per_run = len(TRAIN_STEPS) + len(EVAL_STEPS)
    assert len(curves) == len(frame) * per_run
    for run_id, g in curves.groupby("run_id"):
        assert g[g.kind == "train"].step.tolist() == list(TRAIN_STEPS), run_id
        assert g[g.kind == "eval"].step.tolist() == list(EVAL_STEPS), run_id
        final = g[g.final]
        assert final.step.tolist() == [TRAIN_STEPS[-1]]
        loss = frame.set_index("run_id").loss[run_id]
        assert final.val_web_loss.iloc[0] == pytest.approx(loss)
        assert final.acc_arith.iloc[0] == 0.25
    assert curves[curves.kind == "train"].val_web_loss.isna().all()


def test_a_sweep_without_finished_runs_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="no finished runs"):
        export.export_tables(tmp_path)


# --------------------------------------------------------------------------- scaling fit reads them


def _fit_json(path: Path, out: Path) -> dict:
    code = main(["fit", str(path), "--law", "chinchilla", "--bootstrap", "0", "--json", str(out)])
    assert code == 0
    return json.loads(out.read_text())["chinchilla"]["web"]


def test_scaling_fit_reads_the_exported_tables_as_it_reads_the_sweep(sweep, tmp_path, capsys):
    root, _ = sweep
    paths = export.export_tables(root)
    on_sweep = _fit_json(root, tmp_path / "sweep.json")
    for name in ("runs.parquet", "runs.csv"):
        on_table = _fit_json(paths[name], tmp_path / f"{name}.json")
        for key in ("E", "A", "B", "alpha", "beta"):
            assert on_table[key] == pytest.approx(on_sweep[key], rel=1e-9), (name, key)
        assert on_table["alpha"] == pytest.approx(LAW.alpha, abs=0.02)
    assert "(table: " in capsys.readouterr().out


# --------------------------------------------------------------------------- the command line


def test_scaling_export_prints_the_paths(sweep):
    root, _ = sweep
    proc = run_cli(["scaling", "export", root], check=True)
    assert proc.stdout.splitlines() == [str(root / n) for n in export.TABLES]
    assert (root / "curves.parquet").is_file()


@pytest.mark.parametrize("what", ["missing", "empty"])
def test_scaling_export_of_a_bad_directory_exits_2_with_one_line(tmp_path, what):
    target = tmp_path / "nope" if what == "missing" else tmp_path
    proc = run_cli(["scaling", "export", target])
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {target}: "), proc.stderr
    assert "Traceback" not in proc.stderr
    assert ("not a directory" if what == "missing" else "no finished runs") in lines[0]


def test_the_sweep_end_export_reports_a_failure_in_one_line(tmp_path, capsys):
    export_sweep_tables(str(tmp_path))  # no runs: reported, not raised
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith(f"export of {tmp_path} failed: UserError: ")
    assert err[0].endswith(f"(rerun with: scaling export {tmp_path})")


def test_the_sweep_end_export_names_the_tables(sweep, capsys):
    root, _ = sweep
    export_sweep_tables(str(root))
    assert capsys.readouterr().err.startswith(f"tables: {root / 'runs.parquet'}, ")
    assert (root / "runs.csv").is_file()


def test_a_sweep_end_writes_the_tables_before_the_analysis(sweep, capsys, monkeypatch):
    """The callback exports first; an analysis that fails afterwards leaves the tables."""
    from omegaconf import OmegaConf

    from scaling.analysis import pipeline
    from scaling.cli.callbacks import AnalyzeOnSweepEnd

    root, _ = sweep

    def broken(*args, **kwargs):
        assert (root / "runs.parquet").is_file()  # already written when the analysis starts
        raise RuntimeError("boom")

    monkeypatch.setattr(pipeline, "analyze_sweep", broken)
    AnalyzeOnSweepEnd().on_multirun_end(OmegaConf.create({"runtime": {"out_dir": str(root)}}))
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("tables: ")
    assert err[1] == (
        f"analysis of {root} failed: RuntimeError: boom (rerun with: scaling report {root})"
    )
    assert all((root / n).is_file() for n in export.TABLES)


# --------------------------------------------------------------------------- paths with ".."


def test_a_relative_sweep_path_through_dotdot_finds_its_runs(sweep, tmp_path, monkeypatch):
    root, frame = sweep
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    rel = Path("..") / "runs" / "smoke"
    assert (work / rel).resolve() == root.resolve()
    assert len(results.result_files(rel)) == len(frame)  # the hidden .staging copy stays out
    assert sorted(results.load(rel).run_id) == sorted(frame.run_id)
    assert set(results.load_curves(rel).run_id) == set(frame.run_id)
    assert len(export.runs_table(rel)) == len(frame)


def test_scaling_fit_and_export_accept_a_dotdot_path(sweep, tmp_path, monkeypatch):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    rel = str(Path("..") / "runs" / "smoke")
    assert main(["fit", rel, "--law", "chinchilla", "--bootstrap", "0"]) == 0
    proc = run_cli(["scaling", "export", rel], cwd=work, check=True)
    assert proc.stdout.splitlines()[0] == str(Path(rel) / "runs.parquet")
