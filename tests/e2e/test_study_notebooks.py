"""One notebook per study and per reproduction (notebooks/*.ipynb, each paired by jupytext with
its ``.py`` percent-format twin): the pair agrees, the shipped file carries no outputs, and each
runs under a real Jupyter kernel (nbclient) with its ``parameters`` injected as papermill would:
the studies on the session's smoke sweep, the reproductions on ``../shared/anchors/`` (skipped
when absent) with the fewest bootstrap resamples a reproduction accepts."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.e2e.test_notebook import PNG_MAGIC, _pngs, inject_parameters, kernel_env  # noqa: F401

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
jupytext = pytest.importorskip("jupytext")

NOTEBOOKS = REPO / "notebooks"
STUDIES = [
    "process_vs_output",
    "data_wall",
    "expert_correction",
    "lr_by_width",
    "arithmetic_formats",
]
REPRODUCTIONS = ["chinchilla", "datablations", "porian", "gadre"]
ANCHORS = REPO.parent / "shared" / "anchors"
CELL_TIMEOUT = 300


def _all() -> list[str]:
    return [*STUDIES, *(f"reproduce_{r}" for r in REPRODUCTIONS)]


@pytest.mark.parametrize("name", _all())
def test_notebook_and_its_py_twin_agree_and_ship_clean(name):
    ipynb, py = NOTEBOOKS / f"{name}.ipynb", NOTEBOOKS / f"{name}.py"
    assert ipynb.is_file() and py.is_file(), name
    nb = nbformat.read(ipynb, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code), "outputs in git"
    assert [c.metadata.get("tags") for c in code].count(["parameters"]) == 1
    twin = jupytext.read(py)
    assert [(c.cell_type, c.source) for c in twin.cells] == [
        (c.cell_type, c.source) for c in nb.cells
    ], f"{name}.py and {name}.ipynb differ: run `jupytext --sync notebooks/{name}.ipynb`"
    assert nb.metadata["jupytext"]["formats"] == "ipynb,py:percent"


def _run(name: str, **params: object):
    nb = inject_parameters(nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4), **params)
    client = nbclient.NotebookClient(
        nb,
        kernel_name="python3",
        timeout=CELL_TIMEOUT,
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    client.execute()  # a cell that raises fails the test here, with its traceback
    return nb


def _figures(nb) -> list[bytes]:
    return [png for c in nb.cells if c.cell_type == "code" for png in _pngs(c)]


@pytest.mark.slow
@pytest.mark.parametrize("name", STUDIES)
def test_study_notebook_runs_on_the_smoke_sweep(name, smoke_sweep, kernel_env):  # noqa: F811
    nb = _run(name, SWEEP=smoke_sweep.out, BOOTSTRAP=20)
    figures = _figures(nb)
    if name == "lr_by_width":  # the smoke sweep has one LR: the notebook says so, draws nothing
        printed = "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))
        assert "no LR scan to draw" in printed and not figures
    else:
        assert figures and all(f.startswith(PNG_MAGIC) for f in figures), name
    tables = [
        o
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.outputs
        if o.output_type == "execute_result" and "text/html" in o.get("data", {})
    ]
    assert tables, f"{name}: no table shown"


@pytest.mark.slow
@pytest.mark.parametrize("name", REPRODUCTIONS)
def test_reproduction_notebook_runs_on_the_anchors(name, kernel_env):  # noqa: F811
    if not ANCHORS.is_dir():
        pytest.skip("../shared/anchors/ is absent (the published tables)")
    nb = _run(f"reproduce_{name}", DATA=Path(ANCHORS), BOOTSTRAP=10)
    text = "".join(
        o.get("text", "") or o.get("data", {}).get("text/plain", "")
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.outputs
    )
    assert "[1]" in text, f"{name}: no published source printed"
    figures = _figures(nb)
    assert len(figures) == 1 and figures[0].startswith(PNG_MAGIC), name
