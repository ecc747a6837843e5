"""Hydra callbacks: analysis when a sweep ends."""

from __future__ import annotations

import sys
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig


class AnalyzeOnSweepEnd(Callback):
    """After a multirun: fit the laws, draw the figures, write the verdict and report.md into
    the sweep dir, and print the verdict.

    Failures of the analysis are reported in one line and never fail the sweep: every run's
    record is already on disk, and ``scaling report DIR`` repeats the analysis.
    """

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        out_dir = str(config.runtime.out_dir)
        try:
            from scaling.analysis.pipeline import analyze_sweep
            from scaling.analysis.report import write_report

            summary = analyze_sweep(out_dir)
            print(summary, file=sys.stderr)
            print(f"\nreport: {write_report(out_dir)}", file=sys.stderr)
        except Exception as exc:  # noqa: BLE001 - the run records stand on their own
            print(
                f"analysis of {out_dir} failed: {type(exc).__name__}: {exc} "
                f"(rerun with: scaling report {out_dir})",
                file=sys.stderr,
            )
