"""Hydra glue: register the typed schema and turn a composed DictConfig into a RunConfig."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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


def _refuse_unknown_keys(node: DictConfig, kind: Any = RunConfig, prefix: str = "") -> None:
    """A key added with ``+key=value`` that no config field reads would be silently ignored
    (and the run trained without what the user asked for): refuse it, naming the fields.
    Walks the dataclass fields and the values of ``dict[str, <dataclass>]`` tables
    (data.mixture, eval.domains, ...); free tables (optim.lr_by) take any key."""
    import dataclasses
    import typing

    fields = {f.name for f in dataclasses.fields(kind)}
    extra = sorted(str(k) for k in node if k not in fields)
    if extra:
        raise UserError(
            f"{prefix}{extra[0]}: not a config field (a +key=value that nothing reads); "
            f"{prefix.rstrip('.') or 'the config'} has {', '.join(sorted(fields))}"
        )
    hints = typing.get_type_hints(kind)
    for key in node:
        child, hint = node._get_node(key), hints.get(str(key))
        if not OmegaConf.is_dict(child) or child._is_none() or child._is_missing():
            continue
        if dataclasses.is_dataclass(hint):
            _refuse_unknown_keys(child, hint, f"{prefix}{key}.")
        elif typing.get_origin(hint) is dict and dataclasses.is_dataclass(
            value_kind := typing.get_args(hint)[1]
        ):
            for name in child:
                entry = child._get_node(name)
                if OmegaConf.is_dict(entry) and not entry._is_none():
                    _refuse_unknown_keys(entry, value_kind, f"{prefix}{key}.{name}.")


def to_run_config(cfg: DictConfig) -> RunConfig:
    """Validate and build the RunConfig (runs every __post_init__ check)."""
    body = OmegaConf.masked_copy(cfg, [k for k in cfg if k != "hydra"]) if "hydra" in cfg else cfg
    _refuse_unknown_keys(body)
    try:
        obj = OmegaConf.to_object(body)
    except OmegaConfBaseException as exc:
        key = getattr(exc, "full_key", None) or ""
        msg = str(exc).splitlines()[0]
        raise UserError(f"{key}: {msg}" if key else msg) from None
    if not isinstance(obj, RunConfig):
        raise UserError("the composed config is not a run config; start from configs/train.yaml")
    return obj
