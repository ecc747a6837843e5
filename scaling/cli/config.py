"""Hydra glue: register the typed schema and turn a composed DictConfig into a RunConfig."""

from __future__ import annotations

from pathlib import Path

from hydra.core.config_store import ConfigStore
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from scaling.core.config import RunConfig
from scaling.core.errors import UserError

CONFIG_DIR = Path(__file__).resolve().parents[2] / "configs"
SCHEMA_NAME = "run_schema"


def register_schema() -> None:
    """Store RunConfig as the schema under configs/train.yaml.

    Mixtures, eval domains and tasks are dicts that OmegaConf would *merge* across config
    groups, so the schema leaves them empty and each YAML file states them in full.
    """
    node = OmegaConf.structured(RunConfig)
    node.data.mixture = {}
    node.eval.domains = {}
    node.eval.tasks = {}
    ConfigStore.instance().store(name=SCHEMA_NAME, node=node)


def config_dir() -> str:
    if not (CONFIG_DIR / "train.yaml").exists():
        raise UserError(
            f"configs not found at {CONFIG_DIR}; install scaling-lab from its repository "
            "(pip install -e .) or pass --config-dir"
        )
    return str(CONFIG_DIR)


def to_run_config(cfg: DictConfig) -> RunConfig:
    """Validate and build the RunConfig (runs every __post_init__ check)."""
    body = OmegaConf.masked_copy(cfg, [k for k in cfg if k != "hydra"]) if "hydra" in cfg else cfg
    try:
        obj = OmegaConf.to_object(body)
    except OmegaConfBaseException as exc:
        key = getattr(exc, "full_key", None) or ""
        msg = str(exc).splitlines()[0]
        raise UserError(f"{key}: {msg}" if key else msg) from None
    if not isinstance(obj, RunConfig):
        raise UserError("the composed config is not a run config; start from configs/train.yaml")
    return obj
