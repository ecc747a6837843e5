"""A corpus of bad inputs (issue 14): every one is refused in one line, without a traceback, and
without writing or changing anything on disk.

Each case builds its inputs under the test's tmp directory (tables, a synthetic sweep written
without training, cost and law files, a damaged run record, model weights or token-cache
shard), snapshots that tree (paths, sha256, sizes, modes and mtimes), runs one entry point and
checks:

- the ``scaling`` command line (``scaling.cli.main.main``, in-process; a few through the
  console script): exit status 2, nothing on stdout, stderr one line
  ``error: <field or file>: <what is allowed / how to fix>`` holding the case's fragments;
- the Python API (``scaling.results``, ``scaling.fit``, ``scaling.core.costs``,
  ``scaling.runs.weights``, ``scaling.data.token_cache``): a ``UserError`` whose one-line
  message holds the fragments;
- in both: the tree unchanged.

``scaling status`` on a sweep with a damaged record is the one command that goes on: it lists
the runs and warns in one line naming the file (``test_status_warns_about_a_damaged_record``).
Cases that need the published anchors (../shared/anchors) skip when they are absent; cases on
unreadable files skip when the tests run as root (root reads every file).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from scaling.cli.main import main
from scaling.core.errors import UserError
from scaling.fit import ChinchillaLaw
from tests.conftest import ANCHORS
from tests.helpers import chinchilla_sweep, run_cli
from tests.unit.analysis.test_export import write_sweep

LAW = ChinchillaLaw(E=1.8172, A=482.01, B=2085.43, alpha=0.3478, beta=0.3658)
PORIAN = ANCHORS / "porian2024_isoflop_points.csv"
EPOCH = ANCHORS / "epoch_chinchilla_svg_extracted_data.csv"
ROOT = os.geteuid() == 0 if hasattr(os, "geteuid") else False
COSTS = {
    "accelerator_dollars_per_hour": 2.5,
    "accelerator_flops_per_second": 3.5e14,
    "expert_dollars_per_hour": 100.0,
    "machine_dollars_per_hour": 2.5,
}
needs_anchors = pytest.mark.skipif(not PORIAN.exists(), reason="published anchors not present")
needs_epoch = pytest.mark.skipif(not EPOCH.exists(), reason="published anchors not present")
unreadable = pytest.mark.skipif(ROOT, reason="root reads a chmod 000 file")


# --------------------------------------------------------------------------- the tree


def snapshot(root: Path) -> dict[str, tuple[Any, ...]]:
    """Every path below ``root`` (and root) with its type, mode, size, mtime and sha256."""
    out = {}
    for p in [root, *sorted(root.rglob("*"))]:
        st = p.lstat()
        digest = None
        if stat.S_ISREG(st.st_mode):
            try:
                digest = hashlib.sha256(p.read_bytes()).hexdigest()
            except PermissionError:
                digest = "unreadable"
        out[str(p.relative_to(root))] = (
            stat.S_IFMT(st.st_mode),
            stat.S_IMODE(st.st_mode),
            st.st_size,
            st.st_mtime_ns,
            digest,
        )
    return out


def one_error_line(err: str) -> str:
    """The single ``error: ...`` line of ``err``; fails on a traceback or more lines."""
    assert "Traceback" not in err, err
    lines = err.strip("\n").splitlines()
    assert len(lines) == 1 and lines[0].strip(), err
    assert lines[0].startswith("error: "), err
    return lines[0]


# --------------------------------------------------------------------------- inputs


def runs_frame() -> pd.DataFrame:
    """21 runs of a known Chinchilla law: 3 budgets x 7 sizes, as a table of runs holds them."""
    cols = ["data_type", "budget_flops", "flops", "params", "tokens", "loss", "seed"]
    return chinchilla_sweep(LAW, "web")[cols]


def table(
    tmp: Path, edit: Callable[[pd.DataFrame], pd.DataFrame] | None = None, name: str = "runs.csv"
) -> Path:
    """``runs_frame`` (edited) as a CSV or Parquet file under ``tmp``."""
    df = runs_frame() if edit is None else edit(runs_frame())
    path = tmp / name
    if path.suffix == ".parquet":
        df.to_parquet(path, index=False)
    else:
        df.to_csv(path, index=False)
    return path


def cell(col: str, row: int, value: Any) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def edit(df: pd.DataFrame) -> pd.DataFrame:
        df = df.astype({col: object})
        df.loc[row, col] = value
        return df

    return edit


def write(tmp: Path, name: str, content: str | bytes) -> Path:
    path = tmp / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    return path


def sweep(tmp: Path, damage: Callable[[Path], Any] | None = None) -> Path:
    """A finished synthetic sweep (21 runs, a failed run, a hidden staging copy) under
    ``tmp/sweep``; ``damage(run_dir)`` is applied to its first run."""
    root = tmp / "sweep"
    write_sweep(root)
    if damage is not None:
        damage(first_run(root))
    return root


def first_run(root: Path) -> Path:
    return sorted(p.parent for p in root.glob("web-*/result.json"))[0]


def costs_file(tmp: Path, content: dict[str, Any] | str) -> Path:
    text = content if isinstance(content, str) else json.dumps(content)
    return write(tmp, "costs.json", text)


def chmod_000(path: Path) -> Path:
    path.chmod(0)
    return path


MODEL_INFO = {
    "format": 1,
    "run_id": "r",
    "weights": "model.safetensors",
    "shape": {
        "n_layer": 1,
        "d_model": 16,
        "n_head": 2,
        "d_ff": 64,
        "context": 32,
        "vocab_size": 260,
        "tie_embeddings": True,
    },
    "vocab_size": 260,
    "tokenizer": {"kind": "byte", "name": "byte", "vocab_size": 260, "fingerprint": "x"},
    "tied": {"head.weight": "wte.weight"},
}


def run_dir_with_weights(tmp: Path, weights: bytes, info: dict | str = MODEL_INFO) -> Path:
    """A run directory holding model.json and model.safetensors (``weights``: its bytes)."""
    run = tmp / "run"
    write(run, "model.json", info if isinstance(info, str) else json.dumps(info))
    write(run, "model.safetensors", weights)
    return run


# --------------------------------------------------------------------------- CLI cases

Build = Callable[[Path], list[str]]


def cli(case_id: str, build: Build, *fragments: str, marks: Any = ()) -> Any:
    return pytest.param(build, fragments, id=case_id, marks=marks)


def fit_table(*args: str, edit: Callable | None = None, name: str = "runs.csv") -> Build:
    return lambda t: ["fit", str(table(t, edit, name)), *args]


def fit_file(name: str, content: str | bytes, *args: str) -> Build:
    return lambda t: ["fit", str(write(t, name, content)), *args]


def on_sweep(command: str, *args: str, damage: Callable | None = None) -> Build:
    return lambda t: [command, str(sweep(t, damage)), *args]


def verdict_costs(content: dict[str, Any] | str) -> Build:
    return lambda t: ["verdict", str(sweep(t)), "--costs", str(costs_file(t, content))]


def corrupt(name: str, content: str) -> Callable[[Path], Any]:
    return lambda run: write(run, name, content)


def missing_key(key: str) -> Callable[[Path], Any]:
    def damage(run: Path) -> None:
        rec = json.loads((run / "result.json").read_text())
        del rec[key]
        (run / "result.json").write_text(json.dumps(rec))

    return damage


def truncated_metrics(run: Path) -> None:
    """metrics.jsonl with a line cut short in its middle (not the last line: damage)."""
    text = (run / "metrics.jsonl").read_text()
    (run / "metrics.jsonl").write_text(text[: len(text) // 2] + "\n" + text)


def sample(*args: str, run: Callable[[Path], Path] | None = None) -> Build:
    def build(t: Path) -> list[str]:
        where = run(t) if run is not None else (t / "run")
        where.mkdir(exist_ok=True)
        return ["sample", str(where), "--prompt", "The", *args]

    return build


def reproduce(*args: str) -> Build:
    return lambda t: ["reproduce", *args]


def reproduce_table(name: str, file: str, edit: Callable[[pd.DataFrame], pd.DataFrame]) -> Build:
    def build(t: Path) -> list[str]:
        df = edit(pd.read_csv(ANCHORS / file))
        path = t / file
        df.to_csv(path, index=False)
        return ["reproduce", name, "--data", str(path)]

    return build


def offline_wandb(t: Path) -> Path:
    """A directory holding one offline wandb run whose log is garbage."""
    return write(t / "wb", "wandb/offline-run-20240101_000000-abc/run-abc.wandb", b"\0garbage")


CLI_CASES = [
    # ---- options: unknown, misspelt, wrong type, out of range
    cli("unknown-option", fit_table("--bootstrp", "3"), "--bootstrp", "scaling fit --help"),
    cli("unknown-subcommand", lambda t: ["fitt", str(t)], "'fitt'", "fit", "verdict"),
    cli("missing-argument", lambda t: ["fit"], "path", "scaling fit --help"),
    cli("bootstrap-text", fit_table("--bootstrap", "many"), "--bootstrap", "'many'"),
    cli("bootstrap-nan", fit_table("--bootstrap", "nan"), "--bootstrap", "'nan'"),
    cli("bootstrap-float", fit_table("--bootstrap", "2.5"), "--bootstrap", "'2.5'"),
    cli("bootstrap-negative", fit_table("--bootstrap", "-5"), "--bootstrap", ">= 0"),
    cli("law-misspelt", fit_table("--law", "chinchila"), "--law", "'chinchila'", "chinchilla"),
    cli("by-misspelt", fit_table("--by", "data_typ"), "--by", "'data_typ'", "data_type"),
    cli("method-misspelt", fit_table("--method", "splines"), "--method", "spline"),
    cli("holdout-misspelt", fit_table("--holdout", "smallest"), "--holdout", "largest"),
    cli("map-without-equals", fit_table("--map", "params"), "--map", "params="),
    cli("map-absent-column", fit_table("--map", "params=Model Size"), "'Model Size'", "present"),
    cli(
        "compare-few-bootstrap",
        fit_table("--law", "chinchilla", "--compare", "hoffmann2022", "--bootstrap", "5"),
        "--compare",
        "--bootstrap 20",
    ),
    cli(
        "compare-on-isoflop",
        fit_table("--law", "isoflop", "--compare", "hoffmann2022"),
        "--compare",
        "--law chinchilla",
    ),
    cli(
        "compare-malformed-law-file",
        lambda t: [
            "fit",
            str(table(t)),
            "--law",
            "chinchilla",
            "--compare",
            str(write(t, "law.json", '{"E": 1.7, "A": 400, "B": 1800, "alpha": 0.3}')),
            "--bootstrap",
            "20",
        ],
        "--compare",
        "law.json",
        "'beta'",
    ),
    cli(
        "compare-law-not-json",
        lambda t: [
            "fit",
            str(table(t)),
            "--law",
            "chinchilla",
            "--compare",
            str(write(t, "law.json", "{E: 1.7")),
        ],
        "law.json",
        "not valid JSON",
    ),
    cli(
        "base-unknown-preset",
        fit_table(
            "--law",
            "data_constrained",
            "--base",
            "hoffman2022",
            edit=lambda df: df.assign(unique_tokens=df.tokens / 2),
        ),
        "--base",
        "hoffman2022",
        "hoffmann2022",
    ),
    cli("json-into-a-directory", lambda t: [*fit_table()(t), "--json", str(t)], "--json"),
    cli(
        "json-missing-folder",
        lambda t: [*fit_table()(t), "--json", str(t / "no" / "fit.json")],
        "--json",
        "no such directory",
    ),
    cli("verdict-budget-nan", on_sweep("verdict", "--budget", "nan"), "--budget", "positive"),
    cli("verdict-budget-inf", on_sweep("verdict", "--budget", "inf"), "--budget", "positive"),
    cli("verdict-budget-negative", on_sweep("verdict", "--budget=-1e20"), "--budget", "positive"),
    cli("verdict-budget-text", on_sweep("verdict", "--budget", "lots"), "--budget", "'lots'"),
    cli(
        "verdict-unique-tokens-zero",
        on_sweep("verdict", "--unique-tokens", "0"),
        "--unique-tokens",
        "positive",
    ),
    cli("verdict-bootstrap-negative", on_sweep("verdict", "--bootstrap=-2"), "--bootstrap", ">= 0"),
    cli("report-bootstrap-negative", on_sweep("report", "--bootstrap=-2"), "bootstrap", ">= 0"),
    cli("plot-bootstrap-negative", on_sweep("plot", "--bootstrap=-2"), "bootstrap", ">= 0"),
    cli(
        "plot-out-is-a-file",
        lambda t: [*on_sweep("plot", "--bootstrap", "0")(t), "--out", str(write(t, "f.png", "x"))],
        "f.png",
        "not a directory",
    ),
    cli("sample-temperature-nan", sample("--temperature", "nan"), "--temperature", ">= 0"),
    cli("sample-max-new-tokens", sample("--max-new-tokens=-1"), "--max-new-tokens", ">= 0"),
    cli("sample-top-k-negative", sample("--top-k=-3"), "--top-k", ">= 0"),
    cli("sample-seed-text", sample("--seed", "x1"), "--seed", "'x1'"),
    cli("sample-empty-prompt", lambda t: ["sample", str(t), "--prompt", ""], "--prompt", "empty"),
    cli(
        "sample-file-for-run-dir",
        lambda t: ["sample", str(write(t, "run.txt", "x")), "--prompt", "a"],
        "run.txt",
        "not a directory",
    ),
    cli(
        "sample-corrupt-weights",
        sample(run=lambda t: run_dir_with_weights(t, b"\x10\x00\x00\x00not safetensors")),
        "model.safetensors",
        "retrain",
    ),
    cli(
        "sample-truncated-weights",
        sample(run=lambda t: run_dir_with_weights(t, b"\x40\x00\x00\x00\x00\x00\x00\x00{")),
        "model.safetensors",
    ),
    cli(
        "sample-model-json-not-json",
        sample(run=lambda t: run_dir_with_weights(t, b"", info="{oops")),
        "model.json",
    ),
    # ---- cost files
    cli("costs-missing-file", lambda t: [*on_sweep("verdict")(t), "--costs", "no.json"], "no.json"),
    cli("costs-not-json", verdict_costs("{price: 3}"), "costs.json", "not valid JSON"),
    cli("costs-not-an-object", verdict_costs("[1, 2]"), "costs.json", "object"),
    cli(
        "costs-missing-prices",
        verdict_costs({"accelerator_dollars_per_hour": 4.0}),
        "costs.json",
        "expert_dollars_per_hour",
        "default.json",
    ),
    cli(
        "costs-text-price",
        verdict_costs({**COSTS, "expert_dollars_per_hour": "cheap"}),
        "expert_dollars_per_hour",
        ">= 0",
    ),
    cli(
        "costs-nan-price",
        verdict_costs(json.dumps({**COSTS, "machine_dollars_per_hour": math.nan})),
        "machine_dollars_per_hour",
    ),
    cli(
        "costs-null-price",
        verdict_costs({**COSTS, "accelerator_dollars_per_hour": None}),
        "accelerator_dollars_per_hour",
    ),
    cli(
        "costs-zero-throughput",
        verdict_costs({**COSTS, "accelerator_flops_per_second": 0}),
        "accelerator_flops_per_second",
        "> 0",
    ),
    cli("costs-unknown-key", verdict_costs({**COSTS, "gpu_price": 2}), "gpu_price", "allowed"),
    cli(
        "costs-is-a-directory",
        lambda t: [*on_sweep("verdict")(t), "--costs", str(t)],
        "--costs",
        "a directory",
    ),
    cli(
        "costs-unreadable",
        lambda t: [*on_sweep("verdict")(t), "--costs", str(chmod_000(costs_file(t, COSTS)))],
        "costs.json",
        marks=unreadable,
    ),
    # ---- tables
    cli("table-missing", lambda t: ["fit", str(t / "nope.csv")], "nope.csv", "no such file"),
    cli("table-empty-file", fit_file("empty.csv", ""), "empty.csv"),
    cli("table-header-only", fit_file("h.csv", "params,tokens,loss\n"), "h.csv", "no rows"),
    cli("table-one-row", fit_table(edit=lambda df: df.head(1)), "runs.csv", "at least"),
    cli("table-one-row-one-law", fit_table("--law", "isoflop", edit=lambda df: df.head(1)), "6"),
    cli(
        "table-missing-loss", fit_table(edit=lambda df: df.drop(columns="loss")), "'loss'", "--map"
    ),
    cli(
        "table-renamed-column",
        fit_table(edit=lambda df: df.rename(columns={"params": "N"})),
        "'params'",
        "'N'",
        "--map",
    ),
    cli("table-nan-loss", fit_table(edit=cell("loss", 3, math.nan)), "'loss'", "row 3"),
    cli("table-na-loss", fit_table(edit=cell("loss", 4, "n/a")), "'loss'", "not a number"),
    cli("table-text-loss", fit_table(edit=cell("loss", 4, "lots")), "'loss'", "'lots'"),
    cli("table-negative-params", fit_table(edit=cell("params", 0, -1e6)), "'params'", "> 0"),
    cli("table-zero-tokens", fit_table(edit=cell("tokens", 2, 0)), "'tokens'", "> 0"),
    cli("table-inf-flops", fit_table(edit=cell("flops", 5, math.inf)), "'flops'", "inf"),
    cli(
        "table-duplicate-rows",
        fit_table(edit=lambda df: pd.concat([df, df.iloc[[4]]], ignore_index=True)),
        "runs.csv",
        "identical",
        "drop",
    ),
    cli("table-unsupported-type", fit_file("runs.xlsx", "x"), "runs.xlsx", ".csv"),
    cli("table-corrupt-parquet", fit_file("runs.parquet", b"PAR1 garbage"), "runs.parquet"),
    cli("table-not-utf8", fit_file("runs.csv", b"params,tokens,loss\n\xff\xfe,1,2\n"), "runs.csv"),
    cli(
        "table-unreadable",
        lambda t: ["fit", str(chmod_000(table(t)))],
        "runs.csv",
        marks=unreadable,
    ),
    cli(
        "directory-for-a-table",
        lambda t: ["fit", str((t / "runs.csv").mkdir() or t / "runs.csv")],
        "runs.csv",
        "no finished runs",
    ),
    cli(
        "envelope-on-a-table",
        fit_table("--law", "envelope"),
        "envelope",
        "'run'",
    ),
    cli(
        "accuracy-without-column",
        fit_table("--law", "accuracy", "--column", "acc_x"),
        "--column",
        "'acc_x'",
    ),
    # ---- sweeps and their run records
    cli("fit-empty-directory", lambda t: ["fit", str(t)], "no finished runs"),
    cli(
        "fit-corrupt-result-json",
        on_sweep("fit", damage=corrupt("result.json", '{"loss": 2.')),
        "result.json",
        "not valid JSON",
        "relaunch",
    ),
    cli(
        "fit-result-json-not-an-object",
        on_sweep("fit", damage=corrupt("result.json", "[1, 2]")),
        "result.json",
        "object",
    ),
    cli(
        "fit-result-json-without-loss",
        on_sweep("fit", damage=missing_key("loss")),
        "result.json",
        "'loss'",
    ),
    cli(
        "fit-result-json-empty",
        on_sweep("fit", damage=corrupt("result.json", "")),
        "result.json",
    ),
    cli(
        "envelope-corrupt-metrics",
        on_sweep("fit", "--law", "envelope", damage=truncated_metrics),
        "metrics.jsonl",
        "line",
    ),
    cli(
        "export-corrupt-metrics",
        on_sweep("export", damage=truncated_metrics),
        "metrics.jsonl",
        "line",
    ),
    cli(
        "export-corrupt-result-json",
        on_sweep("export", damage=corrupt("result.json", "{")),
        "result.json",
    ),
    cli(
        "report-corrupt-result-json",
        on_sweep("report", damage=corrupt("result.json", "{")),
        "result.json",
    ),
    cli(
        "verdict-corrupt-result-json",
        on_sweep("verdict", "--bootstrap", "0", damage=corrupt("result.json", "{")),
        "result.json",
    ),
    cli(
        "plot-corrupt-metrics",
        on_sweep("plot", "--bootstrap", "0", damage=truncated_metrics),
        "metrics.jsonl",
    ),
    cli("export-a-file", lambda t: ["export", str(write(t, "f", "x"))], "not a directory"),
    cli("export-empty-directory", lambda t: ["export", str(t)], "no finished runs"),
    cli("status-a-file", lambda t: ["status", str(write(t, "f", "x"))], "not a directory"),
    cli("status-missing", lambda t: ["status", str(t / "nope")], "nope", "no such directory"),
    cli("status-empty-directory", lambda t: ["status", str(t)], "no runs found"),
    cli("report-missing", lambda t: ["report", str(t / "nope")], "nope", "no such directory"),
    cli("verdict-a-file", lambda t: ["verdict", str(write(t, "f", "x"))], "not a directory"),
    # ---- reproduce
    cli("reproduce-unknown-name", reproduce("chinchila"), "'chinchila'", "chinchilla"),
    cli("reproduce-all-without-data", reproduce("all"), "--data"),
    cli("reproduce-missing-data", lambda t: reproduce("porian", "--data", str(t / "x"))(t), "x"),
    cli(
        "reproduce-bootstrap-small",
        lambda t: reproduce("porian", "--data", str(t), "--bootstrap", "3")(t),
        "--bootstrap 3",
        "10",
    ),
    cli(
        "reproduce-out-is-a-file",
        lambda t: reproduce("porian", "--data", str(t), "--out", str(write(t, "o", "x")))(t),
        "--out",
        "not a directory",
    ),
    cli(
        "reproduce-table-missing-column",
        reproduce_table("chinchilla", EPOCH.name, lambda df: df.drop(columns="loss")),
        EPOCH.name,
        "'loss'",
        marks=needs_epoch,
    ),
    cli(
        "reproduce-table-no-rows",
        reproduce_table("chinchilla", EPOCH.name, lambda df: df.head(0)),
        EPOCH.name,
        "no rows",
        marks=needs_epoch,
    ),
    cli(
        "reproduce-table-text-value",
        reproduce_table("chinchilla", EPOCH.name, cell("loss", 7, "n/a")),
        EPOCH.name,
        "'loss'",
        marks=needs_epoch,
    ),
    # ---- import-wandb
    cli(
        "import-wandb-garbage-log",
        lambda t: ["import-wandb", str(offline_wandb(t).parents[2])],
        "run-abc.wandb",
        "not a wandb transaction log",
    ),
    cli(
        "import-wandb-out-is-a-file",
        lambda t: [
            "import-wandb",
            str(offline_wandb(t).parents[2]),
            "--out",
            str(write(t, "o", "x")),
        ],
        "--out",
        "not a directory",
    ),
    # ---- plan (a Hydra composition; the override is named)
    cli("plan-negative-budget", lambda t: ["plan", "budget.flops=-5", "--no-calibrate"], "flops"),
    # ---- published tables (Porian et al. 2024): a mistyped option must not start a fit
    cli(
        "porian-by-misspelt",
        lambda t: ["fit", str(PORIAN), "--law", "isoflop", "--by", "confg"],
        "--by",
        "'confg'",
        "config",
        marks=needs_anchors,
    ),
    cli(
        "porian-map-absent-column",
        lambda t: ["fit", str(PORIAN), "--map", "params=Model Size"],
        "'Model Size'",
        marks=needs_anchors,
    ),
]


@pytest.mark.parametrize(("build", "fragments"), CLI_CASES)
def test_cli_refuses_bad_input_in_one_line_and_writes_nothing(
    build, fragments, tmp_path, monkeypatch, capsys
):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)  # where default outputs (reproductions/, wandb_import/) would go
    argv = build(work)
    capsys.readouterr()
    before = snapshot(tmp_path)
    code = main(argv)
    out, err = capsys.readouterr()
    line = one_error_line(err)
    assert code == 2, (code, err)
    assert out == "", out
    for fragment in fragments:
        assert fragment in line, (fragment, line)
    assert snapshot(tmp_path) == before


# --------------------------------------------------------------------------- the console script


@pytest.mark.parametrize(
    "build",
    [
        fit_table("--bootstrp", "3"),
        fit_table(edit=cell("loss", 2, "n/a")),
        on_sweep("fit", damage=corrupt("result.json", "{")),
    ],
    ids=["unknown-option", "text-in-a-table", "corrupt-result-json"],
)
def test_console_script_refuses_without_a_traceback(build, tmp_path):
    argv = build(tmp_path)
    before = snapshot(tmp_path)
    proc = run_cli(["scaling", *argv], cwd=tmp_path, timeout=300)
    one_error_line(proc.stderr)
    assert proc.returncode == 2, proc.stderr
    assert snapshot(tmp_path) == before


@needs_anchors
def test_fit_on_porians_points_ends_without_a_traceback(tmp_path, capsys):
    """`scaling fit` on Porian et al.'s points (reported to end in an OverflowError): every law
    it fits on the table prints, or the law is reported as not fitted, never a traceback."""
    code = main(["fit", str(PORIAN), "--law", "isoflop", "--by", "config", "--bootstrap", "1"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "Traceback" not in out + err and "rw|base|long|kaplan|kaplan|train" in out


def test_status_warns_about_a_damaged_record(tmp_path, capsys):
    """One unreadable status.json and one corrupt result.json: `scaling status` still lists the
    sweep, with one warning line per damaged file naming it, and writes nothing."""
    root = sweep(tmp_path)
    runs = sorted(p.parent for p in root.glob("web-*/result.json"))
    write(runs[0], "result.json", '{"loss": ')
    write(root / "web-failed", "status.json", '{"state": "fai')
    before = snapshot(tmp_path)
    assert main(["status", str(root)]) == 0
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 2 and all(ln.startswith("warning: ") for ln in lines), err
    assert str(runs[0] / "result.json") in lines[0] + lines[1]
    assert str(root / "web-failed" / "status.json") in lines[0] + lines[1]
    assert runs[1].name in out
    assert snapshot(tmp_path) == before


def test_a_last_metrics_line_cut_short_is_skipped_not_refused(tmp_path):
    """A kill mid-append leaves the last line of metrics.jsonl cut short (no newline): the
    curves are read without it; the same bad line anywhere else is refused (API cases)."""
    from scaling import results

    root = sweep(tmp_path)
    run = first_run(root)
    whole = len(results.load_curves(root))
    with open(run / "metrics.jsonl", "a") as fh:
        fh.write('{"kind": "train", "step": 5, "lo')
    assert len(results.load_curves(root)) == whole


# --------------------------------------------------------------------------- Python API cases

Thunk = Callable[[], Any]
Setup = Callable[[Path], Thunk]  # builds the inputs under tmp, returns the call to make


def api(case_id: str, setup: Setup, *fragments: str, marks: Any = ()) -> Any:
    return pytest.param(setup, fragments, id=case_id, marks=marks)


def results_call(name: str, *args: Any, **kw: Any) -> Thunk:
    from scaling import results

    return lambda: getattr(results, name)(*args, **kw)


def on_frame(name: str, frame: Callable[[], pd.DataFrame], *args: Any, **kw: Any) -> Setup:
    return lambda t: results_call(name, frame(), *args, **kw)


def damaged_sweep(name: str, damage: Callable[[Path], Any]) -> Setup:
    return lambda t: results_call(name, sweep(t, damage))


def fit_call(name: str, *args: Any, **kw: Any) -> Setup:
    def setup(t: Path) -> Thunk:
        from scaling import fit

        return lambda: getattr(fit, name)(*args, **kw)

    return setup


N = np.geomspace(1e6, 1e8, 8)
D = np.geomspace(1e9, 1e8, 8)
L = np.asarray(LAW.predict(N, D), dtype=float)
C = 6 * N * D


def with_nan(a: np.ndarray, i: int = 2) -> np.ndarray:
    b = a.astype(float).copy()
    b[i] = math.nan
    return b


def load_costs_of(content: dict[str, Any] | str | None) -> Setup:
    def setup(t: Path) -> Thunk:
        from scaling.core.costs import load_costs

        path = t if content is None else costs_file(t, content)
        return lambda: load_costs(path)

    return setup


def cost_model(**prices: Any) -> Setup:
    def setup(t: Path) -> Thunk:
        from scaling.core.costs import CostModel

        return lambda: CostModel(**prices)

    return setup


def levers_without_costs(t: Path) -> Thunk:
    from scaling.analysis.pricing import levers_entry

    frame = runs_frame()
    return lambda: levers_entry(frame, "web", None, {"pool_tokens": 1e10}, None, None)


def weights(data: bytes | None, info: dict | str = MODEL_INFO) -> Setup:
    def setup(t: Path) -> Thunk:
        from scaling.runs.weights import load_run_model

        run = t if data is None else run_dir_with_weights(t, data, info)
        return lambda: load_run_model(run)

    return setup


def shard(damage: Callable[[Path], Any]) -> Setup:
    """A token-cache shard built, its published generation damaged, then read again."""

    def setup(t: Path) -> Thunk:
        from scaling.data import token_cache
        from scaling.data.documents import Document
        from scaling.tokenizers.base import ByteTokenizer

        docs = [Document(f"d{i}", f"document {i} " * (i + 1)) for i in range(8)]
        key = {"name": "bad", "split": "train", "n": 8}
        cache, tok = str(t / "cache"), ByteTokenizer()
        built = token_cache.finite_shard(key, docs, tok, label="bad", cache_dir=cache)
        assert built.path is not None
        damage(built.path)
        return lambda: token_cache.finite_shard(key, docs, tok, label="bad", cache_dir=cache)

    return setup


def truncate(name: str) -> Callable[[Path], Any]:
    def damage(gen: Path) -> None:
        data = (gen / name).read_bytes()
        (gen / name).write_bytes(data[: len(data) // 2])

    return damage


def pointer(text: str) -> Callable[[Path], Any]:
    return lambda gen: (gen.parent / "current").write_text(text)


def short_array(name: str) -> Callable[[Path], Any]:
    return lambda gen: np.save(gen / name, np.zeros(2, dtype=np.int64))


def without_loss() -> pd.DataFrame:
    return runs_frame().drop(columns=["loss"])


def unlabelled_pairs() -> pd.DataFrame:
    return runs_frame().drop(columns="data_type").assign(data_form="trace", data_problems="p")


API_CASES = [
    api("load-missing-directory", lambda t: results_call("load", t / "typo"), "typo"),
    api("load-a-file", lambda t: results_call("load", write(t, "f.csv", "x")), "f.csv"),
    api("load-corrupt-result", damaged_sweep("load", corrupt("result.json", "{")), "result.json"),
    api(
        "load-result-missing-key",
        damaged_sweep("load", missing_key("params")),
        "result.json",
        "'params'",
    ),
    api(
        "load-curves-corrupt-metrics",
        damaged_sweep("load_curves", truncated_metrics),
        "metrics.jsonl",
        "line",
    ),
    api(
        "load-curves-metrics-not-objects",
        damaged_sweep("load_curves", corrupt("metrics.jsonl", "[1]\n")),
        "metrics.jsonl",
    ),
    api("load-curves-missing", lambda t: results_call("load_curves", t / "typo"), "typo"),
    api(
        "fit-frame-a-path",
        lambda t: results_call("fit_frame", "runs.csv", "chinchilla"),
        "read_table",
    ),
    api("fit-frame-law-misspelt", on_frame("fit_frame", runs_frame, "chinchila"), "law"),
    api("fit-frame-missing-column", on_frame("fit_frame", without_loss, "chinchilla"), "'loss'"),
    api("fit-frame-by-misspelt", on_frame("fit_frame", runs_frame, "isoflop", by="typ"), "'typ'"),
    api("fit-sweep-empty", on_frame("fit_sweep", pd.DataFrame), "no finished runs"),
    api(
        "fit-sweep-bootstrap-negative",
        on_frame("fit_sweep", runs_frame, bootstrap=-1),
        "bootstrap",
        ">= 0",
    ),
    api("fit-sweep-missing-column", on_frame("fit_sweep", without_loss), "'loss'"),
    api(
        "process-contrasts-a-path",
        lambda t: results_call("process_contrasts", str(t)),
        "results.load",
    ),
    api("process-contrasts-no-data-type", on_frame("process_contrasts", unlabelled_pairs), "type"),
    api("reproduce-unknown", lambda t: results_call("reproduce", "chinchila", t), "'chinchila'"),
    api("reproduce-all", lambda t: results_call("reproduce", "all", t), "'all'"),
    api(
        "reproduce-missing-table", lambda t: results_call("reproduce", "chinchilla", t), EPOCH.name
    ),
    api(
        "reproduce-bootstrap-small",
        lambda t: results_call("reproduce", "chinchilla", EPOCH, bootstrap=2),
        "--bootstrap 2",
        marks=needs_epoch,
    ),
    api("chinchilla-nan-loss", fit_call("fit_chinchilla", N, D, with_nan(L)), "loss"),
    api("chinchilla-lengths", fit_call("fit_chinchilla", N, D[:-1], L), "same length"),
    api(
        "chinchilla-bootstrap-text",
        fit_call("fit_chinchilla", N, D, L, bootstrap="9"),
        "bootstrap",
    ),
    api(
        "chinchilla-bootstrap-float",
        fit_call("fit_chinchilla", N, D, L, bootstrap=2.5),
        "bootstrap",
    ),
    api("chinchilla-too-few", fit_call("fit_chinchilla", N[:3], D[:3], L[:3]), "at least"),
    api("isoflop-bootstrap-nan", fit_call("fit_isoflop", C, N, L, bootstrap=math.nan), "bootstrap"),
    api("isoflop-negative-flops", fit_call("fit_isoflop", -C, N, L), "flops"),
    api("isoflop-method-misspelt", fit_call("fit_isoflop", C, N, L, method="splin"), "method"),
    api("power-law-zero", fit_call("fit_power_law", np.array([0.0, 1, 2]), np.ones(3)), "> 0"),
    api(
        "data-constrained-bootstrap-negative",
        fit_call("fit_data_constrained", N, D, D / 2, L, bootstrap=-1),
        "bootstrap",
    ),
    api(
        "load-law-malformed",
        lambda t: fit_call("load_law", write(t, "law.json", '{"E": "x"}'))(t),
        "law.json",
    ),
    api("load-law-missing", fit_call("load_law", "no-such-law.json"), "no-such-law.json"),
    api("cost-model-nan", cost_model(expert_dollars_per_hour=math.nan), "expert_dollars_per_hour"),
    api("cost-model-text", cost_model(machine_dollars_per_hour="2"), "machine_dollars_per_hour"),
    api(
        "costs-missing-prices",
        load_costs_of({"expert_dollars_per_hour": 50.0}),
        "accelerator_dollars_per_hour",
        "default.json",
    ),
    api("costs-a-directory", load_costs_of(None), "a directory"),
    api("levers-without-a-cost-model", levers_without_costs, "costs"),
    api("weights-corrupt", weights(b"\x10\x00\x00\x00not safetensors"), "model.safetensors"),
    api("weights-empty", weights(b""), "model.safetensors"),
    api(
        "weights-shape-missing-key",
        weights(b"", {**MODEL_INFO, "shape": {"n_layer": 1}}),
        "model.json",
    ),
    api("weights-model-json-corrupt", weights(b"", "{"), "model.json"),
    api("weights-absent", weights(None), "model.safetensors"),
    api("shard-truncated-tokens", shard(truncate("tokens.npy")), "tokens.npy", "delete"),
    api("shard-truncated-offsets", shard(truncate("offsets.npy")), "offsets.npy"),
    api("shard-empty-pointer", shard(pointer("")), "current"),
    api("shard-pointer-to-nothing", shard(pointer("g999")), "g999"),
    api("shard-corrupt-meta", shard(lambda gen: (gen / "meta.json").write_text("{")), "meta.json"),
    api("shard-inconsistent-arrays", shard(short_array("nbytes.npy")), "nbytes.npy"),
]


@pytest.mark.parametrize(("setup", "fragments"), API_CASES)
def test_python_api_raises_a_user_error_and_writes_nothing(setup, fragments, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    call = setup(tmp_path)
    before = snapshot(tmp_path)
    with pytest.raises(UserError) as info:
        call()
    message = str(info.value)
    assert "\n" not in message and message.strip(), message
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    assert snapshot(tmp_path) == before
