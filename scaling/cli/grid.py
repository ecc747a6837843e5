"""Expand a scaling-train command line into the RunConfigs of every grid point, as Hydra's
basic sweeper would launch them (``hydra.sweeper.params`` first, then the command line)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hydra import compose, initialize_config_module
from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import OmegaConf

from scaling.cli.config import CONFIG_MODULE, config_dir, register_schema, to_run_config
from scaling.core.config import RunConfig
from scaling.core.errors import UserError


def _compose(overrides: list[str], hydra_config: bool = False) -> Any:
    GlobalHydra.instance().clear()
    config_dir()  # the packaged configs are there (else one clear line)
    with initialize_config_module(version_base="1.3", config_module=CONFIG_MODULE):
        return compose("train", overrides=overrides, return_hydra_config=hydra_config)


def _base() -> Any | None:
    """The default config, for suggesting field names in an error (None if it cannot load)."""
    try:
        return _compose([])
    except Exception:  # noqa: BLE001 - only for suggestions
        return None


def job_overrides(overrides: list[str]) -> tuple[list[list[str]], dict[str, Any]]:
    """The override list of every job, and the launcher config, of a command line."""
    register_schema()
    overrides = [o for o in overrides if o not in ("-m", "--multirun")]
    parser = OverridesParser.create()
    try:
        given = parser.parse_overrides(overrides)
        fixed = [o.input_line for o in given if not o.is_sweep_override()]
        cfg = _compose(fixed, hydra_config=True)
    except Exception as exc:  # noqa: BLE001 - Hydra's parse/compose errors are user errors
        from scaling.cli.hydra_errors import one_line

        raise UserError(one_line(exc, _base())) from None
    if "optuna" in str(OmegaConf.select(cfg, "hydra.sweeper._target_") or "").lower():
        n = OmegaConf.select(cfg, "hydra.sweeper.n_trials")
        raise UserError(
            f"hydra.sweeper: a search (Optuna, {n} trials) picks its points as it runs, so there "
            "is no grid to list; plan one trial with the same overrides minus hparams_search=..."
        )
    node = cfg.hydra.sweeper.params
    params = OmegaConf.to_container(node, resolve=False) if node else {}
    conf = [f"{k}={v}" for k, v in params.items()] + overrides
    parsed = parser.parse_overrides(conf)
    jobs = BasicSweeper.split_arguments(parsed, None)[0]
    launcher = OmegaConf.to_container(cfg.hydra.launcher, resolve=False)
    return jobs, launcher


def expand(overrides: list[str]) -> tuple[list[RunConfig], dict[str, Any]]:
    """Every grid point's validated RunConfig (a bad point raises UserError naming it)."""
    jobs, launcher = job_overrides(overrides)
    runs = []
    for job in jobs:
        try:
            runs.append(to_run_config(_compose(job)))
        except UserError as exc:
            raise UserError(f"{exc} [{' '.join(job)}]") from None
    GlobalHydra.instance().clear()
    return runs, launcher


def sweep_overrides(sweep_dir: Path) -> list[str] | None:
    """The command-line overrides of the last launch into ``sweep_dir`` (from multirun.yaml)."""
    path = Path(sweep_dir) / "multirun.yaml"
    if not path.exists():
        return None
    cfg = OmegaConf.load(path)
    hydra_overrides = [o for o in cfg.hydra.overrides.hydra if not o.startswith("hydra.mode")]
    return list(cfg.hydra.overrides.task) + hydra_overrides


def workers(launcher: dict[str, Any]) -> int:
    """How many runs the launcher executes at once on this machine."""
    import os

    target = str(launcher.get("_target_", ""))
    if "Joblib" in target or "PackLauncher" in target:
        n = int(launcher.get("n_jobs", 1) or 1)
        return os.cpu_count() or 1 if n < 0 else n
    if "Submitit" in target or "Ray" in target:
        return int(launcher.get("array_parallelism", 0) or launcher.get("tasks_per_node", 1) or 1)
    return 1
