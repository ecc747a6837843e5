"""``hydra/launcher=scaling_pack``: composes every job, groups runs into packs, runs the packs on
reused worker processes (the logic and its reasons: ``scaling.cli.pack``).

Hydra finds launchers only in the ``hydra_plugins`` namespace package, so this thin class lives
here and delegates to the product's CLI layer.
"""

import copy
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from hydra.core.config_store import ConfigStore
from hydra.core.hydra_config import HydraConfig
from hydra.core.utils import JobReturn, JobStatus, filter_overrides, setup_globals
from hydra.plugins.launcher import Launcher
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, open_dict, read_write


@dataclass
class PackLauncherConf:
    _target_: str = "hydra_plugins.scaling_pack_launcher.pack_launcher.PackLauncher"
    n_jobs: int = -1  # worker processes; -1: one per core, 1: in this process


ConfigStore.instance().store(
    group="hydra/launcher", name="scaling_pack", node=PackLauncherConf, provider="scaling-lab"
)


class PackLauncher(Launcher):
    def __init__(self, n_jobs: int = -1) -> None:
        self.n_jobs = int(n_jobs)
        self.config: DictConfig | None = None
        self.hydra_context: HydraContext | None = None

    def setup(
        self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig
    ) -> None:
        self.config, self.hydra_context = config, hydra_context

    def _compose(self, overrides: Sequence[str], idx: int) -> DictConfig:
        assert self.config is not None and self.hydra_context is not None
        cfg = self.hydra_context.config_loader.load_sweep_config(self.config, list(overrides))
        with open_dict(cfg):
            cfg.hydra.job.id = f"{cfg.hydra.job.name}_{idx}"
            cfg.hydra.job.num = idx
        return cfg

    def launch(
        self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int
    ) -> Sequence[JobReturn]:
        from scaling.cli import pack
        from scaling.cli.config import follow_hydra_dirs, to_run_config
        from scaling.core.errors import UserError
        from scaling.runs.record import objective_value

        setup_globals()
        assert self.config is not None
        Path(str(self.config.hydra.sweep.dir)).mkdir(parents=True, exist_ok=True)
        jobs, configs = [], {}
        for offset, overrides in enumerate(job_overrides):
            idx = initial_job_idx + offset
            cfg = self._compose(overrides, idx)
            configs[idx] = cfg
            HydraConfig.instance().set_config(cfg)
            task_cfg = copy.deepcopy(cfg)  # as hydra.core.utils.run_job gives the task
            with read_write(task_cfg), open_dict(task_cfg):
                del task_cfg["hydra"]
            try:
                run = follow_hydra_dirs(to_run_config(task_cfg))
                pack.check(run)
            except UserError as exc:
                shown = " ".join(filter_overrides(overrides))
                print(f"error: {exc} [{shown}]", file=sys.stderr)
                continue
            jobs.append(pack.Job(idx, list(overrides), run))
        packs = pack.form_packs(jobs, pack.workers(self.n_jobs))
        print(f"[scaling] {len(job_overrides)} runs: {pack.describe(packs)}", file=sys.stderr)
        try:
            records = pack.run_packs(packs, self.n_jobs)
        except KeyboardInterrupt:  # Ctrl-C: one line, not joblib's traceback (exit 130)
            print(pack.interrupted_line(jobs, sys.argv[1:]), file=sys.stderr)
            raise SystemExit(130) from None
        objectives = {job.index: job.run.runtime.objective for job in jobs}
        return [
            self._job_return(configs[i], ov, objective_value(records.get(i), objectives.get(i, "")))
            for i, ov in enumerate(job_overrides, start=initial_job_idx)
        ]

    @staticmethod
    def _job_return(cfg: DictConfig, overrides: Sequence[str], value: float) -> JobReturn:
        """A job's return value is the run's objective (``runtime.objective``; NaN for a run
        refused or failed), the float every Hydra sweeper (Optuna, Nevergrad, Ax) reads."""
        ret = JobReturn(overrides=list(overrides), cfg=cfg, hydra_cfg=None)
        ret.working_dir = str(Path.cwd())
        ret.task_name = str(cfg.hydra.job.name)
        ret.status = JobStatus.COMPLETED
        ret.return_value = value
        return ret
