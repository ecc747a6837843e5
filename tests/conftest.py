"""Shared fixtures: a per-session data cache, the anchors folder, Hydra composition, a tiny run.

Tests mirror the package: tests/unit/<layer>/ for each of scaling/<layer>/, tests/e2e/ for sweeps
in subprocesses (marked ``slow`` here: ``pytest -m "not slow"`` is the fast loop; ``make test``
runs both)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
ANCHORS = REPO.parent / "shared" / "anchors"

os.environ.setdefault("WANDB_MODE", "disabled")


@pytest.fixture(scope="session", autouse=True)
def console_logging():
    """The scaling logger tree on stderr, as the command lines configure it, so in-process
    tests see (through capsys) the lines a user sees."""
    from scaling.core.log import configure_console

    configure_console()


@pytest.fixture(scope="session", autouse=True)
def data_cache(tmp_path_factory):
    """One data cache for the whole session, shared by its pytest-xdist workers (mined docs
    are reused across tests; the cache's own locks make concurrent builders safe)."""
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    default = shared / "data-cache"
    default.mkdir(exist_ok=True)
    path = os.environ.get("SCALING_TEST_CACHE_DIR") or str(default)
    os.environ["SCALING_CACHE_DIR"] = path
    return path


@pytest.fixture
def compose():
    """compose(overrides) -> DictConfig of configs/train.yaml, as scaling-train builds it."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_module
    from hydra.core.global_hydra import GlobalHydra

    from scaling.cli.config import CONFIG_MODULE, register_schema

    register_schema()

    def _compose(overrides=(), return_hydra_config=False):
        GlobalHydra.instance().clear()
        with initialize_config_module(version_base="1.3", config_module=CONFIG_MODULE):
            return hydra_compose(
                "train", overrides=list(overrides), return_hydra_config=return_hydra_config
            )

    yield _compose
    GlobalHydra.instance().clear()


def tiny_run(**changes):
    """A RunConfig that trains in about a second: toy model, Python's own docs, tiny evals."""
    from scaling.core.config import (
        BudgetConfig,
        DataConfig,
        EvalConfig,
        ModelConfig,
        OptimConfig,
        RunConfig,
        RuntimeConfig,
        SourceConfig,
    )

    web = SourceConfig(kind="installed_docs", packages=["stdlib"])
    run = RunConfig(
        name="test",
        model=ModelConfig(name="toy", n_layer=1, d_model=16, n_head=2, context=32),
        data=changes.pop("data", DataConfig(name="web", mixture={"web": web})),
        budget=BudgetConfig(flops=changes.pop("flops", 2e8)),
        optim=changes.pop("optim", OptimConfig(batch_size=4)),
        eval=changes.pop(
            "eval",
            EvalConfig(
                domains={"web": web},
                tasks={},
                tokens_per_domain=256,
                final_tokens_per_domain=512,
                points=2,
            ),
        ),
        runtime=RuntimeConfig(out_dir=str(changes.pop("out_dir", "runs/test")), progress="none"),
        **changes,
    )
    return run


@pytest.hookimpl(tryfirst=True)  # before xdist's hook, which reads xdist_group into the node ids
def pytest_collection_modifyitems(config, items):
    """Everything under tests/e2e/ is slow (subprocess sweeps)."""
    for item in items:
        if "e2e" in Path(str(item.fspath)).parts:
            item.add_marker(pytest.mark.slow)
            # under pytest-xdist (make test: -n 2 --dist loadgroup) every end-to-end test runs on
            # one worker, so the session's smoke sweep is trained once
            item.add_marker(pytest.mark.xdist_group("e2e"))
