"""``scaling-train``: the Hydra app. One process per run; a multirun is a sweep.

    scaling-train model=m data=frontier budget.flops=3e11       # one run
    scaling-train experiment=quickstart                         # a sweep (multirun)
    scaling-train experiment=quickstart +plan=true              # list the runs, train nothing
    scaling-train experiment=quickstart +rerun_failed=true      # also retry failed runs

User errors print one line (``error: <field>: <what is allowed>``) and exit with status 2.
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("WANDB_SILENT", "true")

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from scaling.cli.config import config_dir, follow_hydra_dirs, register_schema, to_run_config
from scaling.core.errors import UserError


def _task(cfg: DictConfig) -> float | None:
    """Train one run; return its objective (``runtime.objective``) for a Hydra sweeper."""
    from scaling.core.log import configure_console
    from scaling.runs.record import objective_value
    from scaling.runs.runner import execute

    configure_console()  # a launcher's worker process (joblib, submitit, Ray) starts bare
    hc = HydraConfig.get()
    multirun = hc.mode == RunMode.MULTIRUN
    try:
        run = follow_hydra_dirs(to_run_config(cfg))
        if multirun:
            run.runtime.job_index = int(hc.job.num)  # so each local job can take its own GPU
        return objective_value(execute(run), run.runtime.objective)
    except UserError as exc:
        overrides = " ".join(HydraConfig.get().overrides.task)
        where = f" [{overrides}]" if multirun and overrides else ""
        print(f"error: {exc}{where}", file=sys.stderr)
        if not multirun:
            sys.exit(2)
        return float("nan")


SHORTHANDS = {"+rerun_failed": "runtime.rerun_failed"}
TRUE = ("true", "1", "yes")


def _shorthands(argv: list[str]) -> tuple[list[str], bool]:
    """Translate ``+rerun_failed=..`` to its runtime field and pull out ``+plan=true``."""
    out, plan = [], False
    for arg in argv:
        key, sep, value = arg.partition("=")
        if sep and key == "+plan":
            plan = value.lower() in TRUE
        elif sep and key in SHORTHANDS:
            out.append(f"{SHORTHANDS[key]}={value}")
        else:
            out.append(arg)
    return out, plan


def _check_extras(argv: list[str]) -> None:
    """A search (``hparams_search=...``) needs the optional Optuna sweeper: say how to get it
    instead of Hydra's "Could not find 'hydra/sweeper/optuna'"."""
    import importlib.util

    wants = any(a.split("=", 1)[0].lstrip("+~") == "hparams_search" for a in argv if "=" in a)
    if wants and importlib.util.find_spec("hydra_plugins.hydra_optuna_sweeper") is None:
        raise UserError(
            "hparams_search: needs Hydra's Optuna sweeper, which is not installed; "
            "pip install 'scaling-lab[hpo]' (in a clone: .venv/bin/pip install -c constraints.txt "
            "hydra-optuna-sweeper==1.2.0)"
        )


def _preflight(argv: list[str]) -> None:
    """Compose the overrides before Hydra does, so a config error is one line (exit 2) and not
    Hydra's multi-line report (exit 1). Skipped when Hydra's own flags (--cfg, --help, -cn,
    --config-dir, ...) are given: Hydra handles those itself."""
    if any(a.startswith("-") and a not in ("-m", "--multirun") for a in argv):
        return
    from scaling.cli.grid import _compose
    from scaling.cli.hydra_errors import preflight

    preflight(argv, _compose)


def main() -> None:
    from scaling.core.log import configure_console

    configure_console()
    try:
        path = config_dir()
        _check_extras(sys.argv[1:])
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    sys.argv[1:], plan = _shorthands(sys.argv[1:])
    if plan:
        from scaling.cli.plan import print_plan

        try:
            sys.exit(print_plan(sys.argv[1:]))
        except UserError as exc:
            print(f"error: {exc}", file=sys.stderr)
            sys.exit(2)
    register_schema()
    try:
        _preflight(sys.argv[1:])
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    try:
        hydra.main(version_base="1.3", config_path=path, config_name="train")(_task)()
    except KeyboardInterrupt:  # Ctrl-C outside a sweep's launcher (a single run): one line
        from scaling.cli.pack import resume_command

        print(
            f"interrupted; a run resumes from its last checkpoint with: "
            f"{resume_command(sys.argv[1:])}",
            file=sys.stderr,
        )
        sys.exit(130)


if __name__ == "__main__":
    main()
