"""The notebook names of DESIGN.md: ``scaling.results``, ``scaling.fit``, ``scaling.plots`` (and
``scaling.flops``), without torch or Hydra, and the same objects as the layers'."""

from __future__ import annotations

from tests.helpers import run_cli


def test_notebook_modules_import_light_and_alias_the_analysis_layer():
    code = (
        "import sys, scaling.results, scaling.plots, scaling.fit, scaling.flops; "
        "import scaling.analysis.results as r, scaling.analysis.plots as p; "
        "import scaling.core.flops as f; "
        "assert scaling.flops.flops_per_token is f.flops_per_token; "
        "assert scaling.flops.Shape is f.Shape; "
        "assert scaling.results.load is r.load and scaling.results.load_curves is r.load_curves; "
        "assert scaling.plots.save_all is p.save_all and scaling.plots.FIGURES is p.FIGURES; "
        "assert 'torch' not in sys.modules and 'hydra' not in sys.modules"
    )
    run_cli(["python", "-c", code], check=True)
