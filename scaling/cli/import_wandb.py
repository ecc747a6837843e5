"""``scaling import-wandb PROJECT_OR_DIR``: a wandb project's finished runs, or the offline wandb
runs below a directory, as the tables ``scaling export`` writes (runs.parquet, runs.csv,
curves.parquet), for ``scaling fit OUT/runs.parquet`` or pandas. No training, no Hydra."""

from __future__ import annotations

import argparse
import contextlib
import os
from pathlib import Path
from typing import TYPE_CHECKING

from scaling.core.errors import UserError
from scaling.core.validate import output_directory

if TYPE_CHECKING:
    import pandas as pd

DEFAULT_OUT = Path("wandb_import")
TABLES = ("runs.parquet", "runs.csv", "curves.parquet")


def is_directory_argument(source: str) -> bool:
    """Whether ``source`` names a directory (existing, or written as a path: ``./x``, ``/x``,
    ``~/x``, ``a/b/c``) rather than a wandb ``entity/project`` or ``project``."""
    return (
        Path(source).exists()
        or source.startswith((".", "/", "~"))
        or source.count("/") > 1
        or (os.sep != "/" and os.sep in source)
    )


def cmd_import_wandb(args: argparse.Namespace) -> int:
    """Import, write the three tables into ``--out`` and say how many runs went where."""
    from scaling.analysis import wandb_import

    source = str(args.source)
    if args.out:
        output_directory(args.out, "the tables", "--out")
    if is_directory_argument(source):
        root = Path(source).expanduser()
        runs, curves = wandb_import.import_offline(root)
        name, what = root.resolve().name, f"offline wandb runs below {source}"
    else:
        path = wandb_import.project_path(source, args.entity)
        runs, curves = wandb_import.import_project(path)
        name, what = path.rsplit("/", 1)[-1], f"wandb project {path}"
    if runs.empty:
        raise UserError(
            f"{what}: no finished scaling-lab runs (a run's wandb summary holds its record "
            "once it finishes; unfinished runs and runs logged before that are left out)"
        )
    out = Path(args.out) if args.out else DEFAULT_OUT / name
    output_directory(out, "the tables", "--out")
    write_tables(out, *wandb_import.export_frames(runs, curves))
    print(f"imported {len(runs)} runs ({len(curves)} curve rows) from {what} into {out}")
    return 0


def write_tables(out: Path, runs: pd.DataFrame, curves: pd.DataFrame) -> None:
    """runs.parquet, runs.csv and curves.parquet into ``out``, all or none: every table is
    encoded first, written to a temporary file beside its target, then renamed into place."""
    blobs = {
        TABLES[0]: runs.to_parquet(index=False),
        TABLES[1]: runs.to_csv(index=False).encode(),
        TABLES[2]: curves.to_parquet(index=False),
    }
    out.mkdir(parents=True, exist_ok=True)
    temporaries = {name: out / f".{name}.{os.getpid()}.tmp" for name in blobs}
    try:
        for name, data in blobs.items():
            temporaries[name].write_bytes(data)
        for name, temporary in temporaries.items():
            os.replace(temporary, out / name)
    finally:
        for temporary in temporaries.values():
            with contextlib.suppress(FileNotFoundError):
                temporary.unlink()


def add(sub: argparse._SubParsersAction) -> None:
    """Register the ``import-wandb`` subcommand."""
    p = sub.add_parser(
        "import-wandb",
        help="a wandb project's runs (or a directory of offline runs) as runs/curves tables",
    )
    p.add_argument(
        "source",
        metavar="PROJECT_OR_DIR",
        help="entity/project or project on the wandb server, or a directory of offline runs",
    )
    p.add_argument("--entity", help="the wandb entity of PROJECT (default: wandb's default)")
    p.add_argument(
        "--out", help=f"where the tables go (default: ./{DEFAULT_OUT}/<project or directory>)"
    )
    p.set_defaults(func=cmd_import_wandb)
