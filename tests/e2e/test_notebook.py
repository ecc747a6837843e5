"""The shipped notebook (notebooks/explore_sweep.ipynb) runs as shipped under a real Jupyter kernel
on the session's smoke sweep, and shows its table and figures as a user sees them.

Parameters go in the way papermill injects them, without papermill: the notebook's cell tagged
``parameters`` holds the defaults a user edits (``SWEEP = Path('../runs/quickstart')``,
``BOOTSTRAP = 100``), and the test inserts a cell tagged ``injected-parameters`` right after it
that points ``SWEEP`` at the smoke sweep (and asks for fewer bootstrap resamples, which only
narrows the intervals' precision). Nothing else in the notebook is changed, so the file a user
opens by hand is the one executed here, from notebooks/ as its working directory.
"""

from __future__ import annotations

import base64
import json
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOK = REPO / "notebooks" / "explore_sweep.ipynb"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
MIN_PNG_BYTES = 5_000  # an empty canvas with axes is ~2-4 kB; a drawn figure is tens of kB
CELL_TIMEOUT = 300  # seconds per cell
BOOTSTRAP = 20  # the smoke sweep is small; 100 resamples add time and check nothing more


def inject_parameters(nb, **params: object):
    """A copy of ``nb`` with a cell setting ``params`` right after its ``parameters`` cell (as
    papermill does); the injected cell also prints the kernel's ``sys.prefix``."""
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))  # deep copy
    idx = next(
        (i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", [])), None
    )
    assert idx is not None, f"{NOTEBOOK.name}: no cell tagged 'parameters'"
    lines = ["# Injected by tests/e2e/test_notebook.py", "import sys"]
    for name, value in params.items():
        lines.append(
            f"{name} = Path({str(value)!r})" if isinstance(value, Path) else f"{name} = {value!r}"
        )
    lines.append("print(sys.prefix)")
    cell = nbformat.v4.new_code_cell(
        "\n".join(lines), metadata={"tags": ["injected-parameters"]}, id="injected-parameters"
    )
    nb.cells.insert(idx + 1, cell)
    return nb


def execute(sweep: Path, *, bootstrap: int = BOOTSTRAP, out: Path | None = None):
    """Run the shipped notebook under the ``python3`` kernel with ``SWEEP=sweep``; returns the
    executed notebook (also written to ``out`` when given, even when a cell raised).

    Kernel choice: ``kernel_name="python3"``, looked up with ``JUPYTER_PATH`` set to this
    interpreter's ``share/jupyter`` first, so the kernelspec found is the virtualenv's (not one in
    ~/.local/share/jupyter); its argv starts with a bare ``python``, which jupyter_client replaces
    by ``sys.executable`` of the process launching it, i.e. this interpreter. The injected cell
    prints the kernel's ``sys.prefix`` and the test checks it is ours. The caller sets the
    environment (see ``kernel_env``); the kernel inherits it."""
    nb = inject_parameters(nbformat.read(NOTEBOOK, as_version=4), SWEEP=sweep, BOOTSTRAP=bootstrap)
    client = nbclient.NotebookClient(
        nb,
        kernel_name="python3",
        timeout=CELL_TIMEOUT,
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},  # the kernel's cwd
    )
    try:
        client.execute()
    finally:
        if out is not None:
            nbformat.write(nb, out)
    return nb


@pytest.fixture
def kernel_env(monkeypatch, tmp_path):
    """The kernel's environment: this venv's kernelspecs first, matplotlib's default backend in
    a kernel (no MPLBACKEND: ipykernel then selects the inline backend), no wandb, and an empty
    IPython profile (a user's startup files must not change what the test sees)."""
    monkeypatch.setenv("JUPYTER_PATH", str(Path(sys.prefix) / "share" / "jupyter"))
    monkeypatch.delenv("MPLBACKEND", raising=False)
    monkeypatch.setenv("WANDB_MODE", "disabled")
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))


def _cell(nb, starts: str):
    cells = [c for c in nb.cells if c.cell_type == "code" and c.source.startswith(starts)]
    assert len(cells) == 1, f"{NOTEBOOK.name}: {len(cells)} code cells start with {starts!r}"
    return cells[0]


def _pngs(cell) -> list[bytes]:
    return [
        base64.b64decode(o.data["image/png"])
        for o in cell.outputs
        if o.output_type in ("display_data", "execute_result") and "image/png" in o.get("data", {})
    ]


def test_notebook_runs_on_the_smoke_sweep_and_shows_table_and_figures(
    smoke_sweep, kernel_env, tmp_path
):
    done = [
        p
        for p in smoke_sweep.out.rglob("result.json")
        if json.loads(p.read_text()).get("status") == "done"
    ]
    assert done, "the smoke sweep has no finished run"
    executed = tmp_path / "explore_sweep_executed.ipynb"
    start = time.perf_counter()
    nb = execute(smoke_sweep.out, out=executed)  # a cell that raises: CellExecutionError here
    print(f"notebook executed in {time.perf_counter() - start:.1f} s; written to {executed}")

    errors = [
        o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"
    ]
    assert not errors, [f"{o.ename}: {o.evalue}" for o in errors]

    injected = nb.cells[[c.get("id") for c in nb.cells].index("injected-parameters")]
    printed = "".join(o.get("text", "") for o in injected.outputs if o.output_type == "stream")
    assert printed.strip() == sys.prefix, f"the kernel is not this venv's Python: {printed!r}"

    # the runs table: a DataFrame, shown as HTML, one row per finished run
    table = _cell(nb, "df = results.load(SWEEP)")
    html = [
        o.data["text/html"]
        for o in table.outputs
        if o.output_type == "execute_result" and "text/html" in o.data
    ]
    assert len(html) == 1, f"the table cell shows no HTML table: {table.outputs}"
    assert "dataframe" in html[0]
    body = html[0].split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    assert body.count("<tr") == len(done), (body.count("<tr"), len(done))

    # every figure cell shows a real PNG, not only "<Figure size ... with N Axes>"
    figure_cells = [c for c in nb.cells if c.cell_type == "code" and "plots." in c.source]
    assert len(figure_cells) == 4, [c.source for c in figure_cells]
    for cell in figure_cells:
        pngs = _pngs(cell)
        assert len(pngs) == 1, f"{cell.source!r}: {len(pngs)} PNG outputs: {cell.outputs}"
        assert pngs[0].startswith(PNG_MAGIC), f"{cell.source!r}: not a PNG"
        assert len(pngs[0]) > MIN_PNG_BYTES, f"{cell.source!r}: PNG of {len(pngs[0])} bytes"

    for cell in nb.cells:
        for o in cell.get("outputs", []):
            if o.output_type == "stream":
                assert "Figure size" not in o.text, f"{cell.source!r} printed {o.text!r}"
            elif "Figure size" in o.get("data", {}).get("text/plain", ""):
                assert "image/png" in o.data, f"{cell.source!r}: only {o.data['text/plain']!r}"


def test_shipped_notebook_is_clean_nbformat_4():
    """The shipped file: valid nbformat 4, no outputs or execution counts, one parameters cell."""
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    assert nb.nbformat == 4
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code)
    params = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1
    assert "SWEEP = Path('../runs/quickstart')" in params[0].source
