"""``scaling plot | report | verdict DIR``: a sweep's figures, report and verdict, served from the
analysis cache while the records are unchanged (``analysis.cache``; ``--refit`` recomputes)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from scaling.cli.analysis_commands import load_frame
from scaling.core.errors import UserError


def cmd_plot(args: argparse.Namespace) -> int:
    from scaling.analysis import pipeline as analysis
    from scaling.analysis import plots, results

    root = Path(args.sweep_dir)
    df, _ = load_frame(args.sweep_dir, {})
    current = None if args.out or args.refit else analysis.cached_figures(root, args.bootstrap)
    if current is not None:
        print("(the stored figures: records unchanged; --refit redraws)", file=sys.stderr)
    else:
        fits = analysis.fit_sweep(df, bootstrap=args.bootstrap)  # the gates need intervals
        out = Path(args.out) if args.out else root / analysis.FIGURES
        curves = results.load_curves(root)
        current = plots.save_all(df, fits, out, source=str(root), curves=curves)
        if not args.out:
            analysis.store_figures(root, args.bootstrap, current)
    for p in current:
        print(f"{p}  (+ .pdf)")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from scaling.analysis.pipeline import analyze_sweep
    from scaling.analysis.report import write_report
    from scaling.analysis.results import result_files
    from scaling.analysis.study_report import find_studies, write_study_report

    root = Path(args.sweep_dir)
    if root.is_dir() and not result_files(root) and find_studies(root):
        # a folder of studies (experiments/): one page from their READMEs and figures
        repro = Path(args.reproductions) if args.reproductions else root / "reproductions"
        path = write_study_report(root, reproductions=repro)
        print(f"report of {len(find_studies(root))} studies: {path}")
        return 0
    text = analyze_sweep(args.sweep_dir, bootstrap=args.bootstrap, refit=args.refit)
    path = write_report(args.sweep_dir)
    print(text)
    print(f"\nreport: {path}")
    return 0


def _positive(name: str, value: float | None) -> None:
    import math

    if value is not None and not (math.isfinite(value) and value > 0):
        raise UserError(f"{name}={value:g}: must be a positive number (e.g. {name} 1e9)")


def cmd_verdict(args: argparse.Namespace) -> int:
    from scaling.analysis.pipeline import analyze_sweep
    from scaling.core.costs import load_costs

    _positive("--unique-tokens", args.unique_tokens)
    _positive("--budget", args.budget)
    if args.bootstrap < 0:
        raise UserError(f"--bootstrap={args.bootstrap}: must be >= 0 (e.g. --bootstrap 200)")

    text = analyze_sweep(
        args.sweep_dir,
        bootstrap=args.bootstrap,
        unique_tokens=args.unique_tokens,
        budget=args.budget,
        costs=load_costs(args.costs),
        refit=args.refit,
    )
    print(text)
    print(f"\nwrote {Path(args.sweep_dir) / 'verdict.json'} and verdict.md")
    return 0


def add(sub: argparse._SubParsersAction) -> None:
    """Register plot, report and verdict."""
    p = sub.add_parser("plot", help="draw the sweep's figures (PNG + PDF)")
    p.add_argument("sweep_dir")
    p.add_argument("--out", help="output directory (default: <sweep_dir>/figures)")
    p.add_argument(
        "--bootstrap",
        type=int,
        default=200,
        help="bootstrap resamples; laws are drawn only where they pass the validity gates",
    )
    p.add_argument(
        "--refit", action="store_true", help="recompute even when the stored analysis is current"
    )
    p.set_defaults(func=cmd_plot)

    p = sub.add_parser(
        "report",
        help="fits, figures and verdict as one Markdown page; for a folder of studies "
        "(experiments/), one page of their questions, answers and caveats",
    )
    p.add_argument("sweep_dir")
    p.add_argument(
        "--reproductions",
        help="with a folder of studies: the scaling reproduce outputs to add "
        "(default: <folder>/reproductions)",
    )
    p.add_argument("--bootstrap", type=int, default=200)
    p.add_argument(
        "--refit", action="store_true", help="recompute even when the stored analysis is current"
    )
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("verdict", help="which input binds: compute or data, with intervals")
    p.add_argument("sweep_dir")
    p.add_argument("--unique-tokens", type=float, help="unique-data pool U (tokens)")
    p.add_argument("--budget", type=float, help="compute budget C (FLOPs) to judge")
    p.add_argument("--costs", help="JSON cost model (accelerator and expert prices)")
    p.add_argument("--bootstrap", type=int, default=200)
    p.add_argument(
        "--refit", action="store_true", help="recompute even when the stored analysis is current"
    )
    p.set_defaults(func=cmd_verdict)
