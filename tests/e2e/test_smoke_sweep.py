"""End to end: `scaling-train experiment=smoke` as a subprocess into a temporary directory.

The sweep (3 budgets x 3 toy models x 2 data types, 2 workers) is killed partway with SIGKILL
to the launcher and every worker, then relaunched with the same command. It must end with
exactly one complete result.json per grid point, the fits, the figures and the verdict, and
`scaling fit/plot/report/status` must work on it.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest

from scaling.analysis import gates, results
from tests.conftest import REPO
from tests.helpers import run_cli
from tests.text_checks import bare_numbers

PNG = b"\x89PNG\r\n\x1a\n"
PDF = b"%PDF-"
FIGURES = ("isoflop", "loss_vs_compute", "optimal_allocation", "accuracy", "learning_curves")
REPORT_SECTIONS = ("## Verdict", "## Figures", "## Fitted laws", "## Runs")
PARAMS = ("E", "A", "B", "alpha", "beta")
# The toy ladder's minima mostly sit at its smallest model: too few budgets with an interior
# minimum is the one failure an isoFLOP fit of the smoke sweep may report.
ISO_TOO_FEW = re.compile(
    r"isoflop: needs at least 3 runs at each of at least 2 FLOP budgets with the loss minimum "
    r"inside the sampled N range; usable budgets: ([01]) of 3 \((.+)\)"
)
# How each gate reason names the threshold it failed (scaling.analysis.gates): a width, a
# floor, a share or a count in a code span, the admissible range, zero, or the budgets needed.
THRESHOLDS = (
    f"wider than `{gates.MAX_EXPONENT_WIDTH}`",
    f"below `{gates.MIN_E}` nats",
    f"(need `{gates.MIN_BOOTSTRAP}`)",
    f"(more than `{gates.MAX_FAILED_SHARE:.0%}`)",
    f"> `{gates.RUNAWAY_LOG_COEF:g}`",
    "`(0, 1)`",
    "not bounded above zero",
    "is not positive",
    f"(need `{gates.MIN_BUDGETS}`)",
    f"at least {gates.MIN_BUDGETS} FLOP budgets",
)


@pytest.fixture(scope="module")
def smoke(smoke_sweep):
    """(sweep dir, the relaunch that completed it): the session's smoke sweep (conftest.py)."""
    return smoke_sweep.out, smoke_sweep.relaunch


def _has_head_commit() -> bool:
    return run_cli(["git", "rev-parse", "--verify", "HEAD"], cwd=REPO).returncode == 0


def _check_isoflop_failure(error: str, budgets) -> None:
    """The isoFLOP fit failed for the one accepted reason: fewer than two budgets with the
    minimum inside the ladder, every other budget named with its minimum outside it."""
    m = ISO_TOO_FEW.fullmatch(error)
    assert m, error
    outside = m[2].split("; ")
    assert len(outside) == 3 - int(m[1]), error
    named = set()
    for part in outside:
        c, _, why = part.partition(": ")
        assert why == "minimum outside the sampled N range", part
        named.add(c)
    assert named <= {f"C={b:.3g}" for b in budgets}, named


def _check_image(path: Path, magic: bytes) -> None:
    head = path.read_bytes()[: len(magic)]
    assert head == magic, (path, head)
    assert path.stat().st_size > 10_000, path


def _check_report(text: str, out: Path, n_runs: int) -> None:
    assert text.startswith(f"# scaling-lab report: `{out}`")
    at = [text.find(f"\n{h}\n") for h in REPORT_SECTIONS]
    assert -1 not in at and at == sorted(at), dict(zip(REPORT_SECTIONS, at, strict=True))
    figures = text[at[1] : at[2]]
    for fig in FIGURES:
        assert f"![{fig}](figures/{fig}.png)" in figures, fig
    laws = text[at[2] : at[3]]
    for data_type in ("web", "frontier"):
        assert f"| {data_type} | chinchilla | alpha |" in laws, data_type
        assert f"| {data_type} | isoflop |" in laws, data_type
    runs = [line for line in text[at[3] :].splitlines() if line.startswith("| ")]
    assert len(runs) == 1 + n_runs  # the header and one row per run


def test_one_result_per_grid_point(smoke):
    out, _ = smoke
    df = results.load(out)
    assert len(df) == 3 * 3 * 2
    assert set(df.data_type) == {"web", "frontier"}
    assert df.run_id.is_unique
    for col in (
        "loss",
        "flops",
        "params",
        "tokens",
        "val_web_loss",
        "val_trace_bpb",
        "acc_arithmetic",
        "flops_6N_nonembed",
        "flops_hoffmann_appF",
    ):
        assert col in df and df[col].notna().all(), col
    if _has_head_commit():  # a checkout with history records the commit of every run
        assert df.git_commit.notna().all() and df.git_commit.nunique() == 1
    # every run spent its budget to within half an optimizer step
    assert (df.budget_relative_error.abs() < 0.5).all()
    assert (df.epochs >= 1.0).all()


def test_fits_figures_and_verdict_written(smoke):
    out, _proc = smoke
    budgets = sorted(results.load(out).budget_flops.unique())
    fits = json.loads((out / "fits.json").read_text())
    for data_type in ("web", "frontier"):
        iso = fits[data_type]["isoflop"]
        # either a fit of all three budgets or the one accepted reason
        if "error" in iso:
            _check_isoflop_failure(iso["error"], budgets)
        else:
            assert len(iso["minima"]) == 3, iso
        par = fits[data_type]["chinchilla"]
        assert {"E", "A", "B", "alpha", "beta", "converged", "n_bootstrap_failed"} <= set(par)
    for fig in FIGURES:
        _check_image(out / "figures" / f"{fig}.png", PNG)
        _check_image(out / "figures" / f"{fig}.pdf", PDF)
    verdict = json.loads((out / "verdict.json").read_text())
    assert verdict["data_types"] and "statement" in verdict
    md = (out / "verdict.md").read_text()
    assert md.startswith("#")
    assert bare_numbers(md) == []  # every number has its interval or is replaced by a reason
    assert set(verdict["data_types"]) == {"web", "frontier"}
    for data_type, e in verdict["data_types"].items():
        for law in ("isoflop", "parametric"):
            gate = e[law]["gate"]
            # usable exactly when nothing is wrong; each reason names the threshold it failed
            assert gate["usable"] == (gate["reasons"] == []), gate
            for reason in gate["reasons"]:
                assert any(t in reason for t in THRESHOLDS), reason
        iso_error = fits[data_type]["isoflop"].get("error")
        if iso_error is not None:  # an unfitted law is gated with the fit's own error
            assert e["isoflop"]["gate"]["reasons"] == [f"not fitted: `{iso_error}`"]
    report = (out / "report.md").read_text()
    _check_report(report, out, 18)  # by the callback
    assert bare_numbers(report.split("## Runs")[0]) == []  # the run table is raw data
    assert f"report: {out / 'report.md'}" in _proc.stderr


def test_tables_weights_and_logs_written(smoke):
    """The sweep end wrote the tables; every run kept its final weights and its log."""
    out, proc = smoke
    import pandas as pd

    runs = pd.read_parquet(out / "runs.parquet")
    assert len(runs) == 18 and runs.run_id.is_unique
    assert len(pd.read_csv(out / "runs.csv")) == 18
    curves = pd.read_parquet(out / "curves.parquet")
    assert set(curves.run_id) == set(runs.run_id)
    for run_dir in (out / rid for rid in runs.run_id):
        assert (run_dir / "model.safetensors").stat().st_size > 1000, run_dir
        assert json.loads((run_dir / "model.json").read_text())["run_id"] == run_dir.name
        log = (run_dir / "train.log").read_text()
        assert "resolved config:" in log and "] trained:" in log, run_dir
    assert "tables: " in proc.stderr


def test_relaunch_skips_finished_runs(smoke, data_cache):
    out, _ = smoke
    before = {p: p.stat().st_mtime_ns for p in out.rglob("result.json")}
    proc = run_cli(
        [
            "scaling-train",
            "experiment=smoke",
            f"runtime.out_dir={out}",
            "hydra.callbacks={}",
            "hydra/launcher=local",  # one process: the skip logic, not the launcher, is tested
        ],
        cache=data_cache,
        check=True,
        timeout=300,
    )
    assert proc.stderr.count("done already, skipped") == 18
    assert {p: p.stat().st_mtime_ns for p in out.rglob("result.json")} == before


def test_analysis_cli_on_the_sweep(smoke, tmp_path):
    out, _ = smoke
    budgets = sorted(results.load(out).budget_flops.unique())
    # 20 resamples (the gates' minimum, MIN_BOOTSTRAP): the point estimates do not depend on it
    boot = ["--bootstrap", "20"]
    fit = run_cli(["scaling", "fit", str(out), "--json", tmp_path / "f.json", *boot], check=True)
    assert "alpha" in fit.stdout
    laws = json.loads((tmp_path / "f.json").read_text())
    sweep_fits = json.loads((out / "fits.json").read_text())
    for data_type in ("web", "frontier"):
        # the Chinchilla law of each data type, with a finite interval for every parameter:
        # the law the sweep's own analysis fitted (fits.json)
        par = laws["chinchilla"][data_type]
        for name in PARAMS:
            lo, hi = par["intervals"][name]
            assert math.isfinite(par[name]) and math.isfinite(lo) and lo <= hi, (name, lo, hi)
        same = sweep_fits[data_type]["chinchilla"]
        assert {n: par[n] for n in PARAMS} == pytest.approx({n: same[n] for n in PARAMS})
        iso = laws["isoflop"][data_type]
        if "error" in iso:
            _check_isoflop_failure(iso["error"], budgets)
        else:
            lo, hi = iso["n_opt_law"]["interval"]
            assert lo <= iso["a"] <= hi, iso["n_opt_law"]
    figs = tmp_path / "figs"
    run_cli(["scaling", "plot", str(out), "--out", figs, *boot], check=True)
    assert sorted(p.name for p in figs.iterdir()) == sorted(
        f"{fig}.{ext}" for fig in FIGURES for ext in ("png", "pdf")
    )
    for fig in FIGURES:
        _check_image(figs / f"{fig}.png", PNG)
        _check_image(figs / f"{fig}.pdf", PDF)
    before = (out / "report.md").stat().st_mtime_ns
    report = run_cli(["scaling", "report", str(out), *boot], check=True)
    assert f"report: {out / 'report.md'}" in report.stdout
    assert (out / "report.md").stat().st_mtime_ns != before  # rewritten, not the callback's
    _check_report((out / "report.md").read_text(), out, 18)


def test_status_on_the_sweep(smoke):
    out = smoke[0]
    proc = run_cli(["scaling", "status", str(out)], check=True, timeout=120)
    assert "18 runs: 18 done" in proc.stdout


def test_notebook_runs_on_the_sweep(smoke):
    """Every code cell of notebooks/explore_sweep.ipynb, in order, on the smoke sweep."""
    import matplotlib

    matplotlib.use("Agg")
    nb = json.loads((REPO / "notebooks/explore_sweep.ipynb").read_text())
    out, _ = smoke
    scope: dict = {}
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        src = "".join(cell["source"]).replace("Path('../runs/quickstart')", f"Path({str(out)!r})")
        src = src.replace("bootstrap=100", "bootstrap=5")
        exec(compile(src, "explore_sweep.ipynb", "exec"), scope)
    assert len(scope["df"]) == 18 and set(scope["fits"]) == {"web", "frontier"}
