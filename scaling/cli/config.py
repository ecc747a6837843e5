"""Hydra glue: register the typed schema and turn a composed DictConfig into a RunConfig."""

from __future__ import annotations

from pathlib import Path

from hydra.core.config_store import ConfigStore
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from scaling.core.config import RunConfig
from scaling.core.errors import UserError

# The configs ship inside the package (scaling/configs, a link to the repository's configs/ in a
# checkout, real files in a wheel) and load through Hydra's pkg:// search path, so an installed
# scaling-lab runs from any directory; users add their own with --config-dir / hydra.searchpath.
CONFIG_MODULE = "scaling.configs"
CONFIG_PATH = f"pkg://{CONFIG_MODULE}"
CONFIG_DIR = Path(__file__).resolve().parents[1] / "configs"
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
    OmegaConf.set_struct(node.optim.lr_by, False)  # a table of any keys: optim.lr_by={web: 3e-3}
    ConfigStore.instance().store(name=SCHEMA_NAME, node=node)


def config_dir() -> str:
    """The primary config path for ``hydra.main`` (``pkg://scaling.configs``)."""
    import importlib.resources

    try:
        found = importlib.resources.files(CONFIG_MODULE).joinpath("train.yaml").is_file()
    except ModuleNotFoundError:
        found = False
    if not found:
        raise UserError(
            f"configs not found in the package ({CONFIG_MODULE}); reinstall scaling-lab "
            "(pip install scaling-lab, or pip install -e . in its repository)"
        )
    return CONFIG_PATH


def follow_hydra_dirs(run: RunConfig) -> RunConfig:
    """Runs go where Hydra's output directory says, as in any Hydra app: ``hydra.sweep.dir``
    in a multirun, ``hydra.run.dir`` in a single run (configs/train.yaml sets the sweep dir to
    ``${runtime.out_dir}`` and the run dir to ``.``, so a user who sets neither, or sets
    ``runtime.out_dir``, sees one directory either way). Called with the job's HydraConfig set."""
    import os

    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    if not HydraConfig.initialized():
        return run
    hc = HydraConfig.get()
    if hc.mode == RunMode.MULTIRUN:
        chosen = str(hc.sweep.dir)
    elif os.path.normpath(str(hc.run.dir)) != ".":
        chosen = str(hc.run.dir)
    else:
        return run
    if os.path.normpath(chosen) != os.path.normpath(run.runtime.out_dir):
        run.runtime.out_dir = chosen
    return run


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
