"""``scaling.plots`` leaves the caller's matplotlib backend alone: importing it and drawing a figure
set no backend and import no pyplot (a notebook's inline plots keep working), and the figures it
returns still save as PNG and PDF and show themselves in Jupyter (``_repr_png_``).

The drawing runs in a fresh interpreter, as in a notebook: the backend is chosen before the import.
"""

from __future__ import annotations

import ast

from tests.conftest import REPO
from tests.helpers import run_cli

DRAW = """
import io, sys
import matplotlib
matplotlib.use("svg")
before = matplotlib.get_backend()
import scaling.plots
from matplotlib.figure import Figure
from scaling.fit import ChinchillaLaw
from tests.helpers import chinchilla_sweep
df = chinchilla_sweep(ChinchillaLaw(E=1.8, A=482.0, B=2085.0, alpha=0.35, beta=0.37), "web")
fig = scaling.plots.loss_vs_compute(df, {})
assert isinstance(fig, Figure), type(fig)
assert matplotlib.get_backend() == before == "svg", matplotlib.get_backend()
assert "matplotlib.pyplot" not in sys.modules, "scaling.plots imported pyplot"
png, pdf = io.BytesIO(), io.BytesIO()
fig.savefig(png, format="png")
fig.savefig(pdf, format="pdf")
assert png.getvalue()[:8] == b"\\x89PNG\\r\\n\\x1a\\n", png.getvalue()[:8]
assert pdf.getvalue()[:5] == b"%PDF-", pdf.getvalue()[:5]
assert fig._repr_png_()[:8] == png.getvalue()[:8]
assert matplotlib.get_backend() == "svg", matplotlib.get_backend()
print("ok")
"""


def test_plots_neither_set_nor_switch_the_callers_backend():
    proc = run_cli(["python", "-c", DRAW], cwd=REPO, check=True)
    assert proc.stdout.strip() == "ok"


def _pyplot_uses(path) -> list[str]:
    """Imports of matplotlib.pyplot and calls of ``matplotlib.use`` in one module."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.startswith("matplotlib.pyplot")]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [a.name for a in node.names]
            if node.module.startswith("matplotlib.pyplot") or (
                node.module == "matplotlib" and "pyplot" in names
            ):
                found.append(node.module)
        elif isinstance(node, ast.Call) and ast.unparse(node.func) == "matplotlib.use":
            found.append("matplotlib.use")
    return found


def test_no_module_of_the_package_imports_pyplot_or_sets_a_backend():
    uses = {
        str(p.relative_to(REPO)): u
        for p in sorted((REPO / "scaling").rglob("*.py"))
        if (u := _pyplot_uses(p))
    }
    assert uses == {}
