"""The analysis cache (``scaling.analysis.cache``): a sweep's stored analysis is served while its
records, options and code are unchanged and its files exist, and recomputed otherwise."""

from __future__ import annotations

import json
import shutil

import pytest

from scaling.analysis import cache, pipeline
from tests.unit.analysis.test_export import write_sweep

BOOT = 10


class Recomputed(Exception):
    """Raised by the patched fit_sweep: the analysis was not served from the cache."""


@pytest.fixture(scope="module")
def analysed(tmp_path_factory):
    """A synthetic sweep analysed once; (its dir, the verdict text)."""
    root = tmp_path_factory.mktemp("cache") / "sweep"
    write_sweep(root)
    return root, pipeline.analyze_sweep(root, bootstrap=BOOT)


@pytest.fixture
def sweep(analysed, tmp_path, monkeypatch):
    """A copy of the analysed sweep (the cache holds relative names: it moves with the sweep),
    with fit_sweep patched to raise Recomputed."""
    root = tmp_path / "moved"
    shutil.copytree(analysed[0], root)

    def refit(*_a, **_k):
        raise Recomputed

    monkeypatch.setattr(pipeline, "fit_sweep", refit)
    return root, analysed[1]


def test_second_analysis_is_served_from_the_cache(sweep):
    root, text = sweep
    assert pipeline.analyze_sweep(root, bootstrap=BOOT) == text
    entry = json.loads((root / cache.CACHE_DIR / "analysis.json").read_text())
    assert {"fits.json", "verdict.json", "verdict.md"} <= set(entry["files"])
    assert any(f.startswith("figures/") for f in entry["files"])
    with pytest.raises(Recomputed):
        pipeline.analyze_sweep(root, bootstrap=BOOT, refit=True)


@pytest.mark.parametrize("change", ["record", "curve", "output_deleted", "option", "code"])
def test_any_change_of_inputs_options_code_or_outputs_recomputes(sweep, monkeypatch, change):
    root, _ = sweep
    run = sorted(p.parent for p in root.glob("*/result.json"))[0]
    kw: dict = {"bootstrap": BOOT}
    if change == "record":
        rec = json.loads((run / "result.json").read_text())
        rec["loss"] += 1e-6
        (run / "result.json").write_text(json.dumps(rec))
    elif change == "curve":
        with (run / "metrics.jsonl").open("a") as fh:
            fh.write(json.dumps({"kind": "train", "step": 9, "loss": 1.0}) + "\n")
    elif change == "output_deleted":
        (root / "verdict.md").unlink()
    elif change == "option":
        kw["unique_tokens"] = 1e6
    else:
        monkeypatch.setattr(cache, "code_digest", lambda: "another version")
    with pytest.raises(Recomputed):
        pipeline.analyze_sweep(root, **kw)


def test_figures_cache_is_shared_with_plot(sweep):
    root, _ = sweep
    figs = pipeline.cached_figures(root, BOOT)
    assert figs and all(p.exists() and p.suffix == ".png" for p in figs)
    assert pipeline.cached_figures(root, BOOT + 1) is None  # other options: other figures
    figs[0].with_suffix(".pdf").unlink()
    assert pipeline.cached_figures(root, BOOT) is None


def test_an_unwritable_cache_is_not_an_error(tmp_path, monkeypatch):
    def refuse(*_a, **_k):
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr(cache.io, "atomic_write_text", refuse)
    cache.store(tmp_path, "analysis", "k", files=[])
    assert cache.lookup(tmp_path, "analysis", "k") is None


def test_a_corrupt_entry_is_a_miss(tmp_path):
    (tmp_path / cache.CACHE_DIR).mkdir()
    (tmp_path / cache.CACHE_DIR / "analysis.json").write_text("{not json")
    assert cache.lookup(tmp_path, "analysis", "k") is None
    cache.store(tmp_path, "analysis", "k", files=[])
    assert cache.lookup(tmp_path, "analysis", "k") == {"key": "k", "files": []}
    assert cache.lookup(tmp_path, "analysis", "other") is None
