"""Hydra callbacks: a writable sweep directory when a sweep starts, the tables and the analysis
when it ends."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from scaling.core import faults, io


def _reason(exc: BaseException) -> str:
    """What a failure of the export or the analysis prints: a refused write names its path."""
    if isinstance(exc, io.OutputNotWritable):
        return exc.message
    return f"{type(exc).__name__}: {exc}"


def _sweep_dir(config: DictConfig) -> str:
    """Where the runs go: Hydra's sweep dir (``scaling.cli.config.follow_hydra_dirs``)."""
    return str(OmegaConf.select(config, "hydra.sweep.dir") or config.runtime.out_dir)


def export_sweep_tables(out_dir: str) -> None:
    """Write the sweep's runs.parquet, runs.csv and curves.parquet and say where; a failure is
    reported in one line (with the command that repeats the export), never raised."""
    try:
        from scaling.analysis.export import export_tables

        paths = export_tables(out_dir)
        faults.point("sweep.tables_exported")
        print(f"tables: {', '.join(str(p) for p in paths.values())}", file=sys.stderr)
    except (Exception, io.OutputNotWritable) as exc:  # noqa: BLE001 - the records stand alone
        print(
            f"export of {out_dir} failed: {_reason(exc)} (rerun with: scaling export {out_dir})",
            file=sys.stderr,
        )


def _log_artifacts(out_dir: str, config: DictConfig) -> None:
    """With logger=wandb, the fits, figures and verdict as one artifact of the sweep's group."""
    from scaling.runs.tracking import log_sweep_artifacts

    info = log_sweep_artifacts(out_dir, config)
    if info:
        print(f"wandb: analysis logged as artifact {info.get('artifact')}", file=sys.stderr)


class AnalyzeOnSweepEnd(Callback):
    """After a multirun: export the tables (runs.parquet, runs.csv, curves.parquet), fit the
    laws, draw the figures, write the verdict and report.md into the sweep dir, and print the
    verdict.

    Failures of the export or the analysis are reported in one line and never fail the sweep:
    every run's record is already on disk, and ``scaling export DIR`` / ``scaling report DIR``
    repeat them. Before the sweep starts, a sweep directory that cannot be written is refused
    in one line (``core.io.OutputNotWritable``), before Hydra writes its multirun.yaml there.
    """

    def __init__(self, fit: bool = True) -> None:
        self.fit = fit  # False (hparams_search): tables and the search's summary, no laws

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        io.check_writable(_sweep_dir(config))

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        out_dir = _sweep_dir(config)
        export_sweep_tables(out_dir)
        if not self.fit:  # a search or a scan: tables, and the search's summary if there was one
            from scaling.cli.search_summary import RESULTS, print_search_summary

            if (Path(out_dir) / RESULTS).exists():
                print_search_summary(out_dir, config)
            return
        try:
            from scaling.analysis.pipeline import analyze_sweep
            from scaling.analysis.report import write_report

            summary = analyze_sweep(out_dir)
            faults.point("sweep.fits_written")
            print(summary, file=sys.stderr)
            print(f"\nreport: {write_report(out_dir)}", file=sys.stderr)
            faults.point("sweep.report_written")
            _log_artifacts(out_dir, config)
        except (Exception, io.OutputNotWritable) as exc:  # noqa: BLE001 - the records stand alone
            print(
                f"analysis of {out_dir} failed: {_reason(exc)} "
                f"(rerun with: scaling report {out_dir})",
                file=sys.stderr,
            )
