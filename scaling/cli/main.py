"""``scaling``: the analysis command line (status, plan, fit, plot, report, verdict, export).

Every subcommand validates its input first and reports bad input in one line
(``error: ...``, exit status 2), never with a traceback.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, NoReturn

from scaling.core.errors import UserError


def _sweep_dir(path: str) -> Path:
    p = Path(path)
    if not p.is_dir():
        what = "not a directory" if p.exists() else "no such directory"
        raise UserError(f"{path}: {what}; pass a sweep directory such as runs/quickstart")
    return p


def _grid_points(root: Path, overrides: list[str]) -> list[dict[str, Any]]:
    """Every grid point of the sweep's overrides (run id, labels, grid-window reason), from the
    analysis cache when the overrides and the code are those it was expanded with (composing
    each point with Hydra takes about 0.4 s). A user config dir on the search path is not
    hashed, so such a sweep is expanded every time."""
    from scaling.analysis import cache
    from scaling.cli import grid
    from scaling.runs import identity
    from scaling.train.plan import outside_window, planned_vocab

    cacheable = not any("searchpath" in o for o in overrides)
    digest = cache.key("grid", overrides, cache.code_digest())
    hit = cache.lookup(root, "grid", digest) if cacheable else None
    if hit is not None:
        return list(hit["points"])
    runs, _ = grid.expand(overrides)
    points = [
        {
            "run_id": identity.run_id(run.to_dict()),
            "data_type": run.data.name,
            "model": run.model.name,
            "budget_flops": run.budget.flops,
            "seed": run.seed,
            "reason": outside_window(run, planned_vocab(run)),
        }
        for run in runs
    ]
    if cacheable:
        cache.store(root, "grid", digest, points=points)
    return points


def _grid_rows(root: Path, known: set[str]) -> tuple[list[dict[str, Any]], list[str] | None]:
    """Rows for the sweep's grid points that have no run directory yet (pending, or skipped by
    the grid window with the reason), from the sweep's multirun.yaml; and its overrides."""
    from scaling.cli import grid

    rows: list[dict[str, Any]] = []
    try:
        overrides = grid.sweep_overrides(root)
        if overrides is None:
            return rows, None
        points = _grid_points(root, overrides)
    except UserError as exc:
        print(
            f"note: could not expand the sweep's grid ({exc}); pending runs not listed",
            file=sys.stderr,
        )
        return rows, None
    for point in points:
        if point["run_id"] in known:
            continue
        known.add(point["run_id"])
        state = "skipped" if point["reason"] else "pending"
        rows.append({**point, "state": state})
    return rows, overrides


def _status_table(rows: list[dict[str, Any]]) -> str:
    from scaling.cli import tables
    from scaling.runs import state

    order = {s: i for i, s in enumerate(state.STATES)}
    rows.sort(
        key=lambda r: (
            order.get(r["state"], 9),
            str(r.get("data_type")),
            r.get("budget_flops") or 0,
            r["run_id"],
        )
    )
    for r in rows:
        r["progress"] = f"{r['step']}/{r['steps']}" if r.get("steps") else "-"
        r["eta"] = tables.format_seconds(r.get("eta_seconds"))
        r["wall"] = tables.format_seconds(r.get("wall_seconds"))
    cols = ["run_id", "state", "data_type", "model", "budget_flops", "progress", "eta", "wall"]
    if any(r.get("reason") for r in rows):
        cols.append("reason")
    return tables.format_table(rows, cols)


def _damaged_records(root: Path) -> list[str]:
    """One line per run record (result.json, status.json) of the sweep that does not parse:
    ``scaling status`` lists such a run from its other files and says which file is damaged."""
    from scaling.analysis.results import read_object
    from scaling.runs import layout

    out = []
    for run_dir in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        for name in (layout.RESULT, layout.STATUS):
            try:
                read_object(run_dir / name)
            except UserError as exc:
                out.append(str(exc))
    return out


def cmd_status(args: argparse.Namespace) -> int:
    from scaling.cli import tables
    from scaling.runs import state

    root = _sweep_dir(args.sweep_dir)
    for line in _damaged_records(root):
        print(f"warning: {line}", file=sys.stderr)
    rows = state.scan(root)
    pending, overrides = _grid_rows(root, {r["run_id"] for r in rows})
    rows += pending
    if not rows:
        raise UserError(f"{root}: no runs found (no run directories and no multirun.yaml)")
    print(_status_table(rows))
    counts = {s: sum(r["state"] == s for r in rows) for s in state.STATES}
    summary = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
    eta = max((r.get("eta_seconds") or 0 for r in rows), default=0)
    tail = f"; running runs finish in about {tables.format_seconds(eta)}" if eta else ""
    print(f"\n{len(rows)} runs: {summary}{tail}")
    if counts["interrupted"] or counts["pending"]:
        hint = " ".join(overrides) if overrides else "<the same overrides>"
        print(f"resume with: scaling-train -m {hint}")
    return 0


def cmd_plan(args: argparse.Namespace) -> int:
    from scaling.cli.plan import print_plan

    return print_plan(list(args.overrides), calibrate=not args.no_calibrate)


class OneLineParser(argparse.ArgumentParser):
    """argparse's parser with its errors in one line (``error: ...; see scaling fit --help``,
    exit status 2) instead of the usage block; subparsers inherit it."""

    def error(self, message: str) -> NoReturn:
        message = message.removeprefix("argument ").replace("\n", " ")
        self.exit(2, f"error: {message}; see `{self.prog} --help`\n")


def build_parser() -> argparse.ArgumentParser:
    ap = OneLineParser(prog="scaling", description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="command", required=True)
    p = sub.add_parser("status", help="done / running / interrupted / failed / pending, with ETA")
    p.add_argument("sweep_dir")
    p.set_defaults(func=cmd_status)
    p = sub.add_parser("plan", help="every run of a sweep with FLOPs, tokens, epochs, est. time")
    p.add_argument(
        "overrides", nargs="*", help="scaling-train overrides, e.g. experiment=quickstart"
    )
    p.add_argument("--no-calibrate", action="store_true", help="skip the throughput calibration")
    p.set_defaults(func=cmd_plan)
    from scaling.cli import analysis_commands

    analysis_commands.add(sub)
    from scaling.cli import sweep_commands

    sweep_commands.add(sub)
    from scaling.cli import export as export_command

    export_command.add(sub)
    from scaling.cli import import_wandb as import_wandb_command

    import_wandb_command.add(sub)
    from scaling.cli import reproduce as reproduce_command

    reproduce_command.add(sub)
    from scaling.cli import sample  # imports torch only when the command runs

    sample.add(sub)
    return ap


def parse(parser: argparse.ArgumentParser, argv: list[str] | None) -> argparse.Namespace:
    """The parsed arguments; an unknown option is reported by its subcommand's parser, so the
    line points at that subcommand's --help."""
    args, extra = parser.parse_known_args(argv)
    if extra:
        subs = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        subs.choices[args.command].error(f"unrecognized arguments: {' '.join(extra)}")
    return args


def main(argv: list[str] | None = None) -> int:
    from scaling.core.log import configure_console

    configure_console()
    try:
        args = parse(build_parser(), argv)
    except SystemExit as exc:  # --help (0) or a bad option (2, its line already printed)
        return exc.code if isinstance(exc.code, int) else 2
    try:
        return int(args.func(args) or 0)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
