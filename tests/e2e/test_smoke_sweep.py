"""End to end: `scaling-train experiment=smoke` as a subprocess into a temporary directory.

The sweep (3 budgets x 3 toy models x 2 data types, 2 workers) is killed partway with SIGKILL
to the launcher and every worker, then relaunched with the same command. It must end with
exactly one complete result.json per grid point, the fits, the figures and the verdict, and
`scaling fit/plot/report/status` must work on it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from scaling.analysis import results
from tests.conftest import REPO
from tests.text_checks import bare_numbers

BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def smoke(smoke_sweep):
    """(sweep dir, the relaunch that completed it): the session's smoke sweep (conftest.py)."""
    return smoke_sweep.out, smoke_sweep.relaunch


def _has_head_commit() -> bool:
    done = subprocess.run(
        ["git", "rev-parse", "--verify", "HEAD"],
        cwd=REPO,
        capture_output=True,
        check=False,
    )
    return done.returncode == 0


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
    fits = json.loads((out / "fits.json").read_text())
    for data_type in ("web", "frontier"):
        iso = fits[data_type]["isoflop"]
        # the toy ladder's minima mostly sit at its smallest model: either a fit or the reason
        assert ("minima" in iso and len(iso["minima"]) == 3) or "outside the sampled N" in iso[
            "error"
        ]
        par = fits[data_type]["chinchilla"]
        assert {"E", "A", "B", "alpha", "beta", "converged", "n_bootstrap_failed"} <= set(par)
    for fig in ("isoflop.png", "loss_vs_compute.png", "optimal_allocation.png"):
        assert (out / "figures" / fig).stat().st_size > 10_000, fig
    verdict = json.loads((out / "verdict.json").read_text())
    assert verdict["data_types"] and "statement" in verdict
    md = (out / "verdict.md").read_text()
    assert md.startswith("#")
    assert bare_numbers(md) == []  # every number has its interval or is replaced by a reason
    for e in verdict["data_types"].values():
        for law in ("isoflop", "parametric"):
            gate = e[law]["gate"]
            assert gate["usable"] or gate["reasons"]
    report = (out / "report.md").read_text()
    assert report.startswith("# scaling-lab report")  # by the callback
    assert bare_numbers(report.split("## Runs")[0]) == []  # the run table is raw data
    assert f"report: {out / 'report.md'}" in _proc.stderr


def test_relaunch_skips_finished_runs(smoke, data_cache):
    out, _ = smoke
    before = {p: p.stat().st_mtime_ns for p in out.rglob("result.json")}
    env = {**os.environ, "WANDB_MODE": "disabled", "SCALING_CACHE_DIR": data_cache}
    proc = subprocess.run(
        [
            str(BIN / "scaling-train"),
            "experiment=smoke",
            f"runtime.out_dir={out}",
            "hydra.callbacks={}",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stderr.count("done already, skipped") == 18
    assert {p: p.stat().st_mtime_ns for p in out.rglob("result.json")} == before


def test_analysis_cli_on_the_sweep(smoke, tmp_path):
    out, _ = smoke
    fit = subprocess.run(
        [str(BIN / "scaling"), "fit", str(out), "--json", str(tmp_path / "f.json")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert fit.returncode == 0, fit.stderr
    assert "alpha" in fit.stdout and json.loads((tmp_path / "f.json").read_text())
    plot = subprocess.run(
        [str(BIN / "scaling"), "plot", str(out), "--out", str(tmp_path / "figs")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert plot.returncode == 0, plot.stderr
    assert (tmp_path / "figs" / "isoflop.png").exists()
    assert (tmp_path / "figs" / "isoflop.pdf").exists()
    report = subprocess.run(
        [str(BIN / "scaling"), "report", str(out)], capture_output=True, text=True, timeout=300
    )
    assert report.returncode == 0, report.stderr
    assert (out / "report.md").exists()


def test_status_on_the_sweep(smoke):
    out = smoke[0]
    proc = subprocess.run(
        [str(BIN / "scaling"), "status", str(out)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
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
