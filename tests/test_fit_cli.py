"""`scaling fit` on a published table and on bad tables, through the CLI entry point.

The anchor test skips when ../shared/anchors/ is absent (see its PROVENANCE.md).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from scaling.cli.main import main

ANCHORS = Path(__file__).resolve().parents[2] / "shared" / "anchors"
EPOCH = ANCHORS / "epoch_chinchilla_svg_extracted_data.csv"


@pytest.mark.skipif(not EPOCH.exists(), reason="published anchors not present")
def test_fit_on_epochs_published_table_prints_parameters_with_intervals(tmp_path, capsys):
    out = tmp_path / "fit.json"
    args = ["fit", str(EPOCH), "--law", "chinchilla", "--bootstrap", "30", "--json", str(out)]
    args += ["--map", "params=Model Size", "--map", "flops=Training FLOP"]
    assert main(args) == 0
    captured = capsys.readouterr()
    assert "tokens is not in the table; derived as tokens = flops / (6 * params)" in captured.err
    for name in ("E", "A", "B", "alpha", "beta"):
        line = next(ln for ln in captured.out.splitlines() if f" {name} " in f" {ln} ")
        assert "95%" in line and "[" in line, line
    fit = json.loads(out.read_text())
    p = fit["chinchilla"]["all"]
    # all 245 points (no outliers dropped): near Besiroglu et al. 2024's refit, E 1.82,
    # alpha 0.348; B and beta are poorly pinned without dropping the 5 highest losses
    assert 1.7 < p["E"] < 2.0 and 0.30 < p["alpha"] < 0.40 and 0.3 < p["beta"] < 0.6
    lo, hi = p["intervals"]["alpha"]
    assert lo < p["alpha"] < hi


def _table(tmp_path: Path, **cols) -> Path:
    base = {
        "params": [1e6, 2e6, 4e6, 8e6],
        "tokens": [1e8, 1e8, 2e8, 2e8],
        "loss": [3, 2.8, 2.6, 2.5],
    }
    base.update(cols)
    path = tmp_path / "t.csv"
    pd.DataFrame({k: v for k, v in base.items() if v is not None}).to_csv(path, index=False)
    return path


@pytest.mark.parametrize(
    ("cols", "law", "expected"),
    [
        ({"loss": None}, "chinchilla", "missing required column 'loss'"),
        ({"params": [1e6, -2e6, 4e6, 8e6]}, "chinchilla", "params"),
        ({}, "chinchilla", "needs at least 5 rows"),
        ({}, "data_constrained", "unique_tokens"),
    ],
)
def test_bad_tables_stop_with_one_line(tmp_path, capsys, cols, law, expected):
    assert main(["fit", str(_table(tmp_path, **cols)), "--law", law]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("error: ") and expected in err, err
