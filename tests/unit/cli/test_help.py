"""`scaling-train --help` is the app's own short page (configs/hydra/help/scaling.yaml), and
`--hydra-help` still prints Hydra's."""

from __future__ import annotations

from tests.helpers import run_cli


def test_help_is_the_apps_own_short_page(tmp_path):
    proc = run_cli(["scaling-train", "--help"], cwd=tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    page = proc.stdout
    assert page.startswith("scaling-train: ")
    assert "experiment=" in page and "+plan=true" in page and "+rerun_failed=true" in page
    for group in ("model:", "data:", "budget:", "experiment:", "tokenizer:", "hydra/launcher:"):
        assert group in page, group
    for override in ("budget.flops=", "runtime.out_dir=", "runtime.pack=", "logger=wandb"):
        assert override in page, override
    assert "scaling --help" in page and "README" in page
    assert "Powered by Hydra" not in page and "== Config ==" not in page
    assert len(page.splitlines()) < 80
    assert not list(tmp_path.iterdir())  # --help writes nothing


def test_hydra_help_still_works(tmp_path):
    proc = run_cli(["scaling-train", "--hydra-help"], cwd=tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.startswith("Hydra (") and "--multirun,-m" in proc.stdout
