"""Config defaults live in one place: ``RunConfig()`` (a notebook's default run) is exactly what
``scaling-train`` runs with no overrides (configs/train.yaml and its default groups)."""

from __future__ import annotations

from hydra import compose, initialize_config_module

from scaling.cli.config import CONFIG_MODULE, register_schema, to_run_config
from scaling.core.config import RunConfig


def _composed_default() -> RunConfig:
    register_schema()
    with initialize_config_module(config_module=CONFIG_MODULE, version_base="1.3"):
        cfg = compose(config_name="train", overrides=["hydra.callbacks={}"])
    return to_run_config(cfg)


def _diff(a: object, b: object, path: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        keys = sorted(set(a) | set(b))
        return [d for k in keys for d in _diff(a.get(k), b.get(k), f"{path}.{k}".lstrip("."))]
    return [] if a == b else [f"{path}: dataclass {a!r} != yaml {b!r}"]


def test_dataclass_defaults_equal_the_composed_default_run():
    assert _diff(RunConfig().to_dict(), _composed_default().to_dict()) == []
