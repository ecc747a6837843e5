"""``scaling export DIR``: rebuild a sweep's tables (runs.parquet, runs.csv, curves.parquet)
from its run records and print their paths. No training, no Hydra."""

from __future__ import annotations

import argparse
from pathlib import Path

from scaling.core.errors import UserError


def cmd_export(args: argparse.Namespace) -> int:
    """Write the sweep's tables into the sweep directory and print one path a line."""
    from scaling.analysis.export import export_tables

    root = Path(args.sweep_dir)
    if not root.is_dir():
        raise UserError(
            f"{args.sweep_dir}: not a directory; pass a sweep directory such as runs/quickstart"
        )
    for path in export_tables(root).values():
        print(path)
    return 0


def add(sub: argparse._SubParsersAction) -> None:
    """Register the ``export`` subcommand."""
    p = sub.add_parser(
        "export", help="write runs.parquet, runs.csv and curves.parquet into the sweep dir"
    )
    p.add_argument("sweep_dir")
    p.set_defaults(func=cmd_export)
