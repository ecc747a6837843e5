"""Subcommands over stored results: fit (here) and, in ``sweep_commands``, plot, report, verdict."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scaling.core.errors import UserError

LAW_CHOICES = ("all", "isoflop", "chinchilla", "data_constrained", "accuracy", "envelope")


def _mapping(items: list[str] | None) -> dict[str, str]:
    out = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            raise UserError(
                f'--map {item!r}: use canonical="Your Column", e.g. params="Model Size"'
            )
        out[key.strip()] = value.strip().strip("\"'")
    return out


def load_frame(path: str, mapping: dict[str, str]) -> tuple[Any, str]:
    """(frame, kind): a sweep directory's runs, or any CSV/Parquet table of runs."""
    from scaling.analysis import results
    from scaling.analysis.tables import read_table

    p = Path(path)
    if p.is_dir():
        df = results.load(p)
        if df.empty:
            raise UserError(f"{path}: no finished runs (result.json) below this directory")
        return df.assign(budget=df["budget_flops"]), "sweep"
    if not p.exists():
        raise UserError(
            f"{path}: no such file or directory; pass a sweep directory or a .csv/.parquet table"
        )
    return read_table(p, mapping or None), "table"


def _laws_for(df: Any, law: str, kind: str) -> list[str]:
    if law != "all":
        return [law]
    laws = ["isoflop", "chinchilla"] if kind == "sweep" else ["chinchilla"]
    if kind == "table" and "flops" in df.columns:
        laws.insert(0, "isoflop")
    if "unique_tokens" in df.columns and (df["tokens"] > df["unique_tokens"] * 1.01).any():
        laws.append("data_constrained")
    return laws


def _check_output(path: str | None, option: str) -> None:
    """An output file the command can write at the end: not a directory, in one that exists."""
    if path is None:
        return
    p = Path(path)
    if p.is_dir():
        raise UserError(f"{option} {path}: a directory; give a file name, e.g. {p / 'fit.json'}")
    if not p.parent.is_dir():
        raise UserError(
            f"{option} {path}: no such directory {p.parent}; create it or write elsewhere"
        )


def _named(option: str, check: Any, value: str) -> Any:
    """``check(value)``, its ``UserError`` prefixed with the option that gave the value."""
    try:
        return check(value)
    except UserError as exc:
        raise UserError(f"{option}: {exc}") from None


def _check_fit_options(args: argparse.Namespace) -> Any:
    """Every option checked before a table is read or a law fitted; the law ``--compare`` names
    (None without it)."""
    from scaling.fit.constrained import resolve_base
    from scaling.fit.lawfile import load_law

    if args.bootstrap < 0:
        raise UserError(f"--bootstrap={args.bootstrap}: must be >= 0 (e.g. --bootstrap 200)")
    _check_output(args.json, "--json")
    if args.base:
        _named("--base", resolve_base, args.base)
    if not args.compare:
        return None
    published = _named("--compare", load_law, args.compare)
    if args.bootstrap < 20:
        raise UserError(
            "--compare needs --bootstrap 20 or more (the chi-square uses its covariance)"
        )
    return published


def _group_column(df: Any, by: str | None) -> str | None:
    """The column ``--by`` groups by: data_type when present by default; a named column that
    the table lacks is an error (a misspelt --by must not fit every row as one group)."""
    if by is None:
        return "data_type" if "data_type" in df.columns else None
    if by not in df.columns:
        present = ", ".join(repr(c) for c in df.columns)
        raise UserError(
            f"--by {by!r}: no such column; columns present: {present}; pass one of them, or "
            "leave --by out to fit each data_type (all rows together without one)"
        )
    return by


def cmd_fit(args: argparse.Namespace) -> int:
    published = _check_fit_options(args)
    df, kind = load_frame(args.path, _mapping(args.map))
    by = _group_column(df, args.by)
    laws = _laws_for(df, args.law, kind)
    if args.compare and "chinchilla" not in laws:
        raise UserError(
            f"--compare compares a Chinchilla law: use --law chinchilla (or all), not {args.law}"
        )
    if args.base and "data_constrained" not in laws:
        raise UserError("--base is the data_constrained law's base: use --law data_constrained")
    job = _FitJob(args, df, kind, by, laws, published)
    failures = [why for law in laws if (why := _fit_law(job, law)) is not None]
    if len(failures) == len(laws):
        raise UserError(f"{args.path}: no law could be fitted ({'; '.join(failures)})")
    for column, how in (df.attrs.get("derived") or {}).items():
        print(f"note: {column} is not in the table; derived as {how}", file=sys.stderr)
    print("\n".join(job.lines))
    if args.json:
        from scaling.analysis.pipeline import write_json

        write_json(Path(args.json), job.out)
        print(f"\nwrote {args.json}", file=sys.stderr)
    return 0


def _fit_kw(law: str, df: Any, args: argparse.Namespace) -> dict[str, Any]:
    kw: dict[str, Any] = {}
    if law in ("isoflop", "chinchilla", "data_constrained"):
        kw["bootstrap"] = args.bootstrap
        if args.holdout:
            kw["holdout"] = args.holdout
    if law == "isoflop" and args.method:
        kw["method"] = args.method
    if law == "data_constrained" and args.base:
        kw["base"] = args.base
    if law == "accuracy":
        kw["column"] = _accuracy_column(df, args.column)
    return kw


@dataclass
class _FitJob:
    """One ``scaling fit``: its options and table, and the text and JSON it builds; nothing is
    printed or written until every law has run."""

    args: argparse.Namespace
    df: Any
    kind: str
    by: str | None
    laws: list[str]
    published: Any
    lines: list[str] = field(default_factory=list)
    out: dict[str, Any] = field(default_factory=dict)


def _fit_law(job: _FitJob, law: str) -> str | None:
    """Fit ``law`` per group into ``job``'s text and JSON; None when a group was fitted, else
    the first group's reason."""
    from scaling.analysis import tables

    args, df, by = job.args, job.df, job.by
    kw = _fit_kw(law, df, args)
    frame = _sweep_curves(args.path) if law == "envelope" and job.kind == "sweep" else df
    strict = len(job.laws) == 1 and job.kind == "table"
    results, errors = _fit_groups(frame, law, by, kw, strict=strict)
    job.lines.append(f"\n== {law} ({job.kind}: {args.path}) ==")
    if results:
        job.lines.append(tables.format_table(results))
    job.lines += [f"{name}: not fitted: {why}" for name, why in errors.items()]
    job.lines += _gate_lines(law, results)
    failed = {k: {"error": v} for k, v in errors.items()}
    job.out[law] = {**tables.results_to_dict(results), **failed}
    if law == "isoflop" and job.kind == "sweep":
        table = convention_sensitivity(df, by, kw.get("method"), args.bootstrap)
        job.lines.append("\n== isoflop exponents under each recorded FLOP convention ==")
        job.lines.append(format_sensitivity(table))
        job.out["isoflop_by_convention"] = table
    if law == "chinchilla" and job.published is not None:
        job.out["compare"] = _compare(frame, by, job.published, args, job.lines)
    return None if results else next(iter(errors.values()), f"{law}: not fitted")


def _gate_lines(law: str, results: dict[str, Any]) -> list[str]:
    """Whether each group's law passes the validity gates (analysis.gates), with the reasons."""
    from scaling.analysis.gates import isoflop_gate, parametric_gate

    gate_of = {"isoflop": isoflop_gate, "chinchilla": parametric_gate}.get(law)
    if gate_of is None:
        return []
    out = []
    for name, res in results.items():
        g = gate_of(res)
        out.append(
            f"{name}: validity gates: "
            + ("passed" if g.usable else f"rejected ({g.why()})".replace("`", ""))
        )
    return out


def _fit_groups(
    frame: Any, law: str, by: str | None, kw: dict[str, Any], *, strict: bool
) -> tuple[dict[str, Any], dict[str, str]]:
    """Fit ``law`` per group; a group the law cannot fit is reported with its reason, so the
    other groups (and laws) still print. ``strict``: one law on one table, so its error is the
    command's (one line, exit 2)."""
    from scaling.analysis import tables

    try:
        return tables.fit_frame(frame, law, by=by, **kw), {}
    except UserError as exc:
        if strict or by is None:
            if strict:
                raise
            return {}, {"all": str(exc)}
    results: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name, g in frame.groupby(by, sort=True):
        try:
            results.update({str(name): tables.fit_frame(g, law, by=None, **kw)["all"]})
        except UserError as exc:
            errors[str(name)] = str(exc)
    return results, errors


def _compare(
    df: Any, by: str | None, published: Any, args: argparse.Namespace, lines: list[str]
) -> Any:
    """Epoch's comparison of a published law with each group's data (Besiroglu et al. 2024 §3):
    the likelihood-ratio test and the chi-square against the refit's bootstrap covariance."""
    from scaling.fit.compare import compare_published, format_comparison

    groups = [("all", df)] if by is None else [(str(k), g) for k, g in df.groupby(by, sort=True)]
    out = {}
    for name, g in groups:
        res = compare_published(
            g["params"],
            g["tokens"],
            g["loss"],
            published,
            name=str(args.compare),
            bootstrap=args.bootstrap,
        )
        lines.append(f"\n== compare {args.compare} with {name} ==")
        lines.append(format_comparison(res))
        out[name] = res.to_dict()
    return out


def convention_sensitivity(
    df: Any, by: str | None, method: str | None, bootstrap: int
) -> list[dict[str, Any]]:
    """isoFLOP exponents a, b of the same runs with N and C counted under each FLOP convention
    the runs recorded (``params_<conv>``, ``flops_<conv>``): at this scale the head and
    attention are 10-72% of the compute (Pearce and Song 2024), so the convention moves a."""
    from scaling import fit

    convs = sorted(
        c[len("flops_") :]
        for c in df.columns
        if c.startswith("flops_")
        and f"params_{c[len('flops_') :]}" in df.columns
        and c != "flops_convention"
    )
    rows = []
    groups = [("all", df)] if by is None else [(str(k), g) for k, g in df.groupby(by, sort=True)]
    for name, g in groups:
        for conv in convs:
            row: dict[str, Any] = {"group": name, "convention": conv}
            kw = {"method": method} if method else {}
            try:
                r = fit.fit_isoflop(
                    g[f"flops_{conv}"],
                    g[f"params_{conv}"],
                    g["loss"],
                    g["tokens"],
                    budget=g["budget_flops"],
                    bootstrap=bootstrap,
                    **kw,
                )
                row.update(
                    a=r.a,
                    a_interval=list(r.n_opt_law.interval),
                    b=r.b,
                    b_interval=list(r.d_opt_law.interval),
                    budgets=len(r.used),
                )
            except UserError as exc:
                row["error"] = str(exc)
            rows.append(row)
    return rows


def format_sensitivity(rows: list[dict[str, Any]]) -> str:
    from scaling.analysis.tables import _fmt

    out = ["group  convention  a [95%]  b [95%]"]
    for r in rows:
        if "error" in r:
            out.append(f"{r['group']}  {r['convention']}  not fitted: {r['error']}")
            continue
        ai, bi = r["a_interval"], r["b_interval"]
        out.append(
            f"{r['group']}  {r['convention']}  {_fmt(r['a'])} [{_fmt(ai[0])}, {_fmt(ai[1])}]  "
            f"{_fmt(r['b'])} [{_fmt(bi[0])}, {_fmt(bi[1])}]"
        )
    return "\n".join(out)


def _accuracy_column(df: Any, column: str) -> str:
    if column in df.columns:
        return column
    acc = [c for c in df.columns if c.startswith("acc_") and df[c].notna().any()]
    if not acc:
        raise UserError(f"--column {column!r}: no such column and no acc_<task> column present")
    return acc[0]


def _sweep_curves(path: str) -> Any:
    """Training-loss curves of a sweep in the envelope law's columns (run, flops, loss, ...)."""
    from scaling.analysis import results

    c = results.load_curves(path)
    if c.empty:
        raise UserError(f"{path}: no learning curves (metrics.jsonl) to build an envelope from")
    c = c[c["kind"] == "train"]
    return c[["run_id", "data_type", "flops", "loss", "params", "tokens"]].rename(
        columns={"run_id": "run"}
    )


def add(sub: argparse._SubParsersAction) -> None:
    """Register ``scaling fit`` (plot, report and verdict: ``sweep_commands.add``)."""
    _add_fit(sub)


def _add_fit(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("fit", help="fit scaling laws to a sweep directory or a CSV/Parquet table")
    p.add_argument("path", help="sweep directory, or a table with params, tokens, loss columns")
    p.add_argument("--law", choices=LAW_CHOICES, default="all")
    p.add_argument(
        "--map",
        action="append",
        metavar='CANON="Column"',
        help='rename a column, e.g. --map params="Model Size" (repeatable)',
    )
    p.add_argument(
        "--by",
        default=None,
        help="fit each group of this column (default: data_type, when the table has one)",
    )
    p.add_argument("--bootstrap", type=int, default=200, help="bootstrap resamples for intervals")
    p.add_argument(
        "--holdout",
        choices=("largest",),
        help="also fit without the largest budget/model and report the error there",
    )
    p.add_argument("--column", default="accuracy", help="accuracy column for --law accuracy")
    p.add_argument(
        "--method",
        choices=("quadratic", "spline", "varpro"),
        default=None,
        help="isoFLOP minimum per budget (default: the measured best, see scaling.fit.isoflop)",
    )
    p.add_argument(
        "--base",
        help="data_constrained base law: free, tied (alpha = beta), a preset "
        "(muennighoff2023, hoffmann2022, besiroglu2024) or a JSON law file (held fixed)",
    )
    p.add_argument(
        "--compare",
        metavar="LAW",
        help="compare a published law (preset or JSON file) with the data: likelihood-ratio and "
        "chi-square tests (Besiroglu et al. 2024)",
    )
    p.add_argument("--json", metavar="OUT", help="write the results as JSON")
    p.set_defaults(func=cmd_fit)
