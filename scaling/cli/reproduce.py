"""``scaling reproduce NAME --data TABLE [--out DIR] [--bootstrap N]``: rebuild a published
scaling-law figure and its numbers from the published run table, ours beside the published.

NAME is one of ``scaling.analysis.reproduce.REPRODUCTIONS`` or ``all``. ``--data`` is the table
or a folder holding it (the known file names are looked up there). Writes
``<out>/<name>/figure.png`` and ``.pdf``, ``numbers.json`` and ``numbers.md`` and prints the
table. Every table is found and checked before anything runs, and every reproduction runs
before anything is written, so bad input (an unknown name, a missing file, missing columns)
stops with one ``error:`` line and writes nothing.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from scaling.core.errors import UserError
from scaling.core.validate import output_directory

DEFAULT_OUT = "reproductions"


def cmd_reproduce(args: argparse.Namespace) -> int:
    from scaling.analysis import reproduce
    from scaling.analysis.tables import check_published

    specs = reproduce.resolve(args.name)
    if args.data is None and len(specs) > 1:
        files = ", ".join(t.file for s in specs for t in s.tables)
        raise UserError(
            f"--data is required: pass the folder holding {files} (e.g. ../shared/anchors); "
            "`scaling reproduce NAME` without --data says where each comes from"
        )
    if args.bootstrap is not None:
        reproduce.check_bootstrap(args.bootstrap)
    output_directory(args.out, f"the figures and numbers (default {DEFAULT_OUT}/)", "--out")
    prepared = [check_published(reproduce.prepare(s, args.data)) for s in specs]
    done = []
    for p in prepared:
        b = p.spec.default_bootstrap if args.bootstrap is None else args.bootstrap
        print(f"running {p.spec.name} ({b} bootstrap resamples) ...", file=sys.stderr)
        done.append(p.run(args.bootstrap, args.seed))
    for rep in done:
        out = rep.write(Path(args.out))
        print(f"\n== {rep.name}: {rep.title} ==")
        print(f"tables: {', '.join(rep.tables)}")
        print(rep.text())
        print(
            f"wrote {out}/ (figure.png, figure.pdf, numbers.json, numbers.md) "
            f"in {rep.seconds:.1f} s"
        )
    return 0


def add(sub: argparse._SubParsersAction) -> None:
    """Register the ``reproduce`` subcommand."""
    p = sub.add_parser(
        "reproduce",
        help="rebuild published scaling-law figures and numbers from published run tables",
    )
    p.add_argument("name", help="chinchilla, datablations, porian, gadre (the registry), or all")
    p.add_argument(
        "--data",
        default=None,
        help="the published table, or a folder holding it (e.g. ../shared/anchors)",
    )
    p.add_argument("--out", default=DEFAULT_OUT, help=f"output folder (default {DEFAULT_OUT}/)")
    p.add_argument(
        "--bootstrap",
        type=int,
        default=None,
        help="bootstrap resamples (default: chosen per reproduction to run in under ~60 s)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_reproduce)
